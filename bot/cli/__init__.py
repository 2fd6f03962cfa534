"""Operator commands: `python -m bot check`, `python -m bot links import|export`.

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
from bot.cli.links import run_export, run_import

PROG = "python -m bot"
DISTRIBUTION = "webfones-slack-dialer"
#: The first words that mean "run an operator command" rather than "run the bot".
COMMANDS = frozenset({"check", "links"})

DESCRIPTION = """\
Operator commands for the WebFones Slack Dialer. Run without a command,
`%(prog)s` starts the bot. Settings come from the environment and .env
(or the file named by DIALER_ENV_FILE), exactly as the bot reads them."""

CHECK_HELP = """\
Check, one line each, that the settings are valid, Slack accepts SLACK_BOT_TOKEN,
the PBX answers and accepts WEBFONES_API_KEY, and DIALER_DB opens (it is created
and migrated if missing). No call is placed: the PBX is probed with a GET. In
Socket Mode the app token is only checked for shape. Exit 0 when all pass, 1 when
any fails. Secrets are never printed."""

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
        help="import or export Slack user -> extension links as CSV",
        description="Import or export Slack user -> extension links as CSV.",
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
