"""Operator commands: `python -m bot check`, `links import|export|sync`, `report`,
`database copy`.

`main(argv)` parses the words after `python -m bot` and answers the exit status: 0 done,
1 a check failed or the import file has bad rows (nothing changed), 2 a usage or setup error.
Settings come from the environment, which the caller has already filled from .env.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot import logs
from bot.cli.check import run_check
from bot.cli.common import CliError, Env, safe, secrets
from bot.cli.database import run_copy
from bot.cli.links import run_export, run_import
from bot.cli.report import DEFAULT_DAYS, FORMATS, days, run_report
from bot.cli.sync import run_sync

PROG = "python -m bot"
DISTRIBUTION = "webfones-slack-dialer"
#: The first words that mean "run an operator command" rather than "run the bot".
COMMANDS = frozenset({"check", "database", "links", "report"})

DESCRIPTION = """\
Operator commands for the WebFones Slack Dialer. Run without a command,
`%(prog)s` starts the bot. Settings come from the environment and .env
(or the file named by DIALER_ENV_FILE), exactly as the bot reads them."""

CHECK_HELP = """\
Check, one line each, that the settings are valid, Slack accepts SLACK_BOT_TOKEN,
the PBX answers and accepts WEBFONES_API_KEY, and DIALER_DB opens (it is created
and migrated if missing), or DIALER_DATABASE_URL's PostgreSQL when set (its
server, address without the password, and schema version are shown). No call is
placed: the PBX is probed with a GET. In Socket Mode the app token is only
checked for shape. Exit 0 when all pass, 1 when any fails. Secrets are never
printed."""

IMPORT_HELP = """\
Link Slack users to extensions from a CSV file with a header row, e.g.

  user_id,extension
  U0123ABCD,309
  alice@example.com,310

The user column takes Slack user IDs or email addresses (emails are looked up
with users.lookupByEmail, which needs the users:read.email scope). Headers such
as user, slack_user, user_id, email and extension, ext are recognised in any
order; otherwise the first two columns are used. Every row is checked first: if
any is bad (malformed ID or email, extension not 2 to 8 digits, wrong number of
columns, a user listed twice, an email nobody has), nothing is changed and the
exit status is 1, unless --skip-bad. Links are written with linked_by "import".
Needs DIALER_DB, and SLACK_BOT_TOKEN when the file has emails."""

REPORT_HELP = """\
Print, from the audit log (DIALER_DB) alone, the calls of the last N days: calls
per day (UTC), the outcome mix, the callers' answers to "did it ring?" on placed
calls (connected, didnt_ring, no_answer, none), and "didn't ring" answers by
extension with the last time. Needs no Slack token and no PBX."""

EXPORT_HELP = """\
Write every link as CSV (header user_id,extension), sorted by extension, to FILE
or to standard output (no FILE, or -). `links import` reads it back."""


def package_version() -> str:
    """The installed package's version, from its metadata (`pip install` records it)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def invoked_as(argv0: str) -> str:
    """The program's name as the operator typed it: `python -m bot`, or the script's name."""
    name = Path(argv0).name
    return PROG if name in ("__main__.py", "") else name


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser for every operator command, calling itself `prog`."""
    parser = argparse.ArgumentParser(
        prog=prog,
        # COMMAND is optional: with none, `python -m bot` starts the bot (bot/__main__.py).
        usage="%(prog)s [-h] [--version] [COMMAND ...]",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"{DISTRIBUTION} {package_version()}"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", help="also show log lines (secrets scrubbed)"
    )
    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        help="an operator command; with none, start the bot",
        prog=prog,  # each command's usage reads `python -m bot check`, not the whole usage
    )
    _add_check(commands, common)
    _add_links(commands, common)
    _add_report(commands, common)
    _add_database(commands, common)
    return parser


def _add_check(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The `check` command."""
    check = commands.add_parser(
        "check",
        help="check settings, Slack, PBX key and database (no call placed)",
        description=CHECK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    check.set_defaults(run=run_check)


def _add_links(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The `links import` and `links export` commands."""
    links = commands.add_parser(
        "links",
        help="import, export or sync (from the directory) Slack user -> extension links",
        description="Import or export Slack user -> extension links as CSV, or sync them "
        "from the company directory.",
    )
    actions = links.add_subparsers(dest="action", metavar="ACTION", required=True)
    raw = argparse.RawDescriptionHelpFormatter
    load = actions.add_parser(
        "import",
        help="link users from a CSV file",
        description=IMPORT_HELP,
        formatter_class=raw,
        parents=[common],
    )
    load.add_argument("file", metavar="FILE.csv", help="the CSV file to read ('-': stdin)")
    load.add_argument(
        "--dry-run", action="store_true", help="report what would happen; write nothing"
    )
    load.add_argument("--skip-bad", action="store_true", help="skip bad rows and import the rest")
    load.set_defaults(run=run_import)
    dump = actions.add_parser(
        "export",
        help="write every link as CSV",
        description=EXPORT_HELP,
        formatter_class=raw,
        parents=[common],
    )
    dump.add_argument(
        "file", metavar="FILE", nargs="?", default="-", help="where to write ('-' or none: stdout)"
    )
    dump.set_defaults(run=run_export)
    _add_sync(actions, common)


SYNC_HELP = """\
Bring every link in step with the company directory: the custom profile field
DIALER_EXTENSION_FIELD names (protected or SCIM-managed). Every member is listed
(users.list) and each active person's field is read (users.profile.get, about
100 a minute, Slack's limit for it: 1,000 people take about ten minutes). Prints,
per person, what the directory adds, changes or removes, and every conflict (a
value that can't be an extension, an extension someone else holds, a link made
by hand that the directory disagrees with: never overwritten). Nothing is written
without --apply. Safe to stop and run again. Progress goes to standard error."""


def _add_sync(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The `links sync` command."""
    sync = actions.add_parser(
        "sync",
        help="bring links in step with the company directory (DIALER_EXTENSION_FIELD)",
        description=SYNC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sync.add_argument("--apply", action="store_true", help="carry the plan out (default: show it)")
    sync.set_defaults(run=run_sync)


def _add_report(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The `report` command."""
    report = commands.add_parser(
        "report",
        help="calls, outcomes, callers' answers and 'didn't ring' by extension",
        description=REPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    report.add_argument(
        "--days",
        type=days,
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"the last N days (default {DEFAULT_DAYS})",
    )
    report.add_argument(
        "--format", choices=FORMATS, default="table", help="table (default), csv or json"
    )
    report.set_defaults(run=run_report)


COPY_HELP = """\
Copy the SQLite database (DIALER_DB, or --from FILE) into the empty PostgreSQL
database DIALER_DATABASE_URL names, to run replicas on several hosts: the links
(with where each came from), the audit log with the callers' answers (which is
also the budgets' history), the PBX's 429 pause, request claims, the directory's
audit rows, conflicts and state, and the admins' notices. The copy is one
transaction, and each table's count is checked after it. A target that already
holds data is refused and nothing is written (exit 1). Stop the bot first, so
that nothing is written to DIALER_DB during the copy; then set
DIALER_DATABASE_URL on every replica. The SQLite file is left as it was."""


def _add_database(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The `database copy` command."""
    database = commands.add_parser(
        "database",
        help="copy the SQLite database into an empty PostgreSQL database (for replicas)",
        description="Move the bot's data between databases.",
    )
    actions = database.add_subparsers(dest="action", metavar="ACTION", required=True)
    copy = actions.add_parser(
        "copy",
        help="copy DIALER_DB into the empty PostgreSQL database at DIALER_DATABASE_URL",
        description=COPY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    copy.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="the SQLite file to copy (default: DIALER_DB)",
    )
    copy.set_defaults(run=run_copy)


def _logging(verbose: bool, env: Env) -> None:
    """Log lines only with --verbose (scrubbed); otherwise the one-line reports say it all."""
    if verbose:
        logs.configure(secrets(env))
    elif not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())


def _parse(argv: Sequence[str], prog: str) -> argparse.Namespace | int:
    """The parsed arguments, or the exit status argparse chose (--help, a usage error)."""
    try:
        return build_parser(prog).parse_args(list(argv))
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 2


def main(argv: Sequence[str] | None = None, *, env: Env | None = None, prog: str = PROG) -> int:
    """Run one operator command (argv as after `python -m bot`); answer the exit status."""
    env = os.environ if env is None else env
    args = _parse(sys.argv[1:] if argv is None else argv, prog)
    if isinstance(args, int):
        return args
    if getattr(args, "run", None) is None:  # no command: only `python -m bot` starts the bot
        build_parser(prog).print_usage(sys.stderr)
        print(f"{prog}: name a command, or run `python -m bot` to start the bot", file=sys.stderr)
        return 2
    _logging(args.verbose, env)
    try:
        return args.run(args, env)
    except CliError as error:
        print(f"webfones-dialer: {safe(str(error), env)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("webfones-dialer: interrupted", file=sys.stderr)
        return 130
