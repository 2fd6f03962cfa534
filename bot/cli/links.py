"""`links import` and `links export`: move Slack user -> extension links in and out as CSV."""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from bot import wiring
from bot.cli import linkfile
from bot.cli.common import (
    CliError,
    Env,
    Where,
    bot_token,
    open_store,
    slack_api_url,
    where,
)
from bot.cli.linkfile import Row
from bot.config import SettingsError, default_region
from bot.logs import one_line
from bot.services.linking import Directory, EmailProblem, EmailTrouble, Linked, LinkService
from bot.store import Store, StoreBusy

LINKED_BY = "import"
TOKEN_REFUSALS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)


def _read_text(name: str) -> str:
    """The CSV text from a file, or from stdin for '-' (a UTF-8 byte-order mark is dropped)."""
    if name == "-":
        return sys.stdin.read().removeprefix("\ufeff")
    try:
        return Path(name).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"{name} is not UTF-8 text: save it as CSV UTF-8.") from None
    except OSError as error:
        raise CliError(f"cannot read {name}: {error.strerror or error}.") from None


def _lookup_failure(code: str) -> CliError:
    """The error that stops an import when Slack refuses an email lookup for the whole app."""
    if code in TOKEN_REFUSALS:
        return CliError(f"SLACK_BOT_TOKEN was refused by Slack ({code}); nothing changed.")
    if code == "missing_scope":
        return CliError(
            "Slack refused users.lookupByEmail (missing_scope): add the users:read.email scope "
            "to the app and reinstall it, or use user IDs; nothing changed."
        )
    if code == "ratelimited":
        return CliError("Slack is rate limiting email lookups; try again later. Nothing changed.")
    return CliError(f"Slack refused users.lookupByEmail ({code}); nothing changed.")


#: Why an email address gave no one to link, for the row's report line.
ROW_PROBLEMS = {
    EmailTrouble.NO_ONE: "no Slack user has that address",
    EmailTrouble.DEACTIVATED: "that Slack account is deactivated",
    EmailTrouble.BOT: "that address belongs to a bot",
}


async def _resolve_all(
    rows: list[Row], pending: set[int], directory: Directory, url: str
) -> list[Row]:
    """Each pending row with its email turned into a user ID, or marked as not resolvable."""
    found: dict[str, str | EmailProblem] = {}
    resolved = []
    for row in rows:
        if row.line not in pending:
            resolved.append(row)
            continue
        assert row.email is not None
        key = row.email.lower()
        if key not in found:
            found[key] = await directory.user_for_email(row.email)
        answer = found[key]
        if isinstance(answer, str):
            resolved.append(replace(row, user_id=answer))
        elif answer.trouble in ROW_PROBLEMS:
            why = ROW_PROBLEMS[answer.trouble]
            problem = f"could not resolve {one_line(row.email)} on row {row.line} ({why})"
            resolved.append(replace(row, problem=problem))
        elif answer.trouble == EmailTrouble.UNREACHABLE:
            raise CliError(
                f"could not reach Slack at {url} to look up emails ({answer.code}); "
                "nothing changed."
            )
        else:
            raise _lookup_failure(answer.code)
    return resolved


def resolve_emails(rows: list[Row], env: Env) -> list[Row]:
    """Look up every well-formed email row with Slack's users.lookupByEmail."""
    pending = {row.line for row in rows if row.problem is None and row.user_id is None}
    if not pending:
        return rows
    why = f"to look up the {len(pending)} email address(es) in the file"
    token, url = bot_token(env, why), slack_api_url(env)
    directory = wiring.cli_directory(token, url)
    return asyncio.run(_resolve_all(rows, pending, directory, url))


def _abort(bad: list[Row], total: int) -> int:
    """Report every bad row and that nothing was changed."""
    for row in bad:
        print(row.problem)
    good = total - len(bad)
    print(
        f"nothing changed: {len(bad)} of {total} row(s) are bad; fix them, "
        f"or use --skip-bad to import the other {good}"
    )
    return 1


def _current(store: Store | None) -> dict[str, str]:
    """Every user's current extension."""
    return {link.user_id: link.extension for link in store.links.all()} if store else {}


def _report(row: Row, before: str | None, dry_run: bool) -> tuple[str, str]:
    """The outcome (linked, changed, unchanged) and its report line."""
    if before == row.extension:
        return "unchanged", f"skipped {row.who} (already {before})"
    if before is None:
        verb = "would link" if dry_run else "linked"
        return "linked", f"{verb} {row.who} → {row.extension}"
    verb = "would change" if dry_run else "changed"
    return "changed", f"{verb} {row.who} {before} → {row.extension}"


async def _apply(row: Row, links: LinkService | None, before: str | None) -> str | None:
    """Write one link unless it is already so; answer the extension it had before."""
    if links is None or before == row.extension:
        return before
    assert row.user_id is not None
    try:
        done = await links.link(row.user_id, row.extension, LINKED_BY)
    except StoreBusy:
        raise CliError(
            f"stopped at row {row.line}: the database stayed busy. The rows reported above were "
            "written; run the import again (rows already linked are skipped)."
        ) from None
    if not isinstance(done, Linked):  # the rows were checked by the same rule before
        raise CliError(f"row {row.line}: {row.extension} can't be linked; nothing more changed.")
    return done.previous.extension if done.previous else None


def _summary(counts: Counter[str], dry_run: bool) -> str:
    """The final line: how many rows went which way."""
    line = (
        f"{counts['linked']} linked, {counts['changed']} changed, "
        f"{counts['unchanged']} unchanged, {counts['bad']} skipped/bad"
    )
    return line + " (dry run: nothing was written)" if dry_run else line


def _open_for_import(place: Where, dry_run: bool) -> Store | None:
    """The store to compare against and write to; a dry run never creates the file."""
    if place.exists():
        return open_store(place)
    if dry_run:
        print(f"note: {place.name} does not exist yet; a real import would create it")
        return None
    print(f"note: creating {place.name}")
    return open_store(place)


async def _import_all(
    rows: list[Row], store: Store | None, links: LinkService | None, dry_run: bool
) -> Counter[str]:
    """Report each row in file order, linking the good ones through `links` (None: dry run)."""
    counts: Counter[str] = Counter()
    current = _current(store)
    for row in rows:
        if row.problem:
            counts["bad"] += 1
            print(row.problem)
            continue
        assert row.user_id is not None
        before = await _apply(row, links, current.get(row.user_id))
        outcome, line = _report(row, before, dry_run)
        counts[outcome] += 1
        print(line, flush=True)
    return counts


def _import_rows(rows: list[Row], place: Where, region: str, dry_run: bool) -> Counter[str]:
    """Report each row in file order, writing the good ones unless this is a dry run."""
    store = _open_for_import(place, dry_run)
    links = None if dry_run or store is None else wiring.linking(store, region)
    try:
        return asyncio.run(_import_all(rows, store, links, dry_run))
    finally:
        if store is not None:
            store.close()


def run_import(args: argparse.Namespace, env: Env) -> int:
    """`links import FILE`: check every row first, then link, or change nothing."""
    try:
        region = default_region(env)
    except SettingsError as error:
        raise CliError(str(error)) from None
    rows, notes = linkfile.read(_read_text(args.file), region)
    for note in notes:
        print(note)
    rows = linkfile.mark_duplicates(resolve_emails(rows, env))
    bad = [row for row in rows if row.problem]
    if bad and not args.skip_bad:
        return _abort(bad, len(rows))
    counts = _import_rows(rows, where(env), region, args.dry_run)
    print(_summary(counts, args.dry_run))
    return 0


def _write(name: str, text: str) -> None:
    """Write the export to a file only its owner may read (it maps people to extensions),
    whatever the umask; explain in one line when that is not possible."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as out:
            if stat.S_ISREG(os.fstat(fd).st_mode):  # not a terminal, pipe or /dev/stdout
                os.fchmod(fd, 0o600)  # a file that was there keeps no wider mode
            out.write(text)
    except OSError as error:
        raise CliError(f"cannot write {name}: {error.strerror or error}.") from None


def run_export(args: argparse.Namespace, env: Env) -> int:
    """`links export [FILE]`: every link as user_id,extension, by extension."""
    place = where(env)
    if not place.exists():
        raise CliError(
            f"{place.name} does not exist: nothing to export (is DIALER_DB or the "
            "working directory right?)."
        )
    store = open_store(place)
    try:
        links = store.links.all()
    finally:
        store.close()
    text = linkfile.render(links)
    if args.file in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _write(args.file, text)
        print(f"exported {len(links)} link(s) to {args.file}", file=sys.stderr)
    return 0
