"""`check`: prove the settings, the Slack token, the PBX key and the database work, one line each.

Nothing here changes anything outside the database file: the PBX is probed with a GET that
cannot place a call, and the Socket Mode app token is only checked for shape (opening a
connection would take one of the app's few connection slots from the running bot).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import wiring
from bot.cli.common import Env, Where, db_exists, safe
from bot.cli.sync import directory_summary
from bot.config import TOKEN_SOURCES, Settings, SettingsError, load_settings
from bot.pbx import (
    ApiKeyMissing,
    ApiKeyRejected,
    DialerError,
    PbxTimeout,
    PbxUnreachable,
    ProbeAnswer,
    WebFonesClient,
)
from bot.slack.identity import TokenRefused, who_am_i
from bot.slack.retry import UNREACHABLE_ERRORS, describe
from bot.store import Store, StoreBusy, StoreError, open_to_others

OK, WARN, FAIL = "ok", "warn", "FAIL"
#: How long the write probe waits for the running bot's writes (each takes milliseconds).
PROBE_WAIT_SECONDS = 5.0
APP_TOKEN_SHAPE = re.compile(r"^xapp-\d+-[A-Z0-9]+-\d+-[0-9a-f]+$")
SIGNING_SECRET_SHAPE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Result:
    """One check's verdict: ok, warn (works, but look) or FAIL, what was checked, and detail."""

    status: str
    name: str
    detail: str

    def line(self) -> str:
        """The line the operator reads, e.g. 'ok   settings: HTTP mode, port 3000, DB dialer.db'."""
        return f"{self.status:<4} {self.name}: {self.detail}"


def settings_result(settings: Settings) -> Result:
    """What mode the bot would run in, and where its database is."""
    mode = "Socket Mode" if settings.socket_mode else f"HTTP mode, port {settings.port}"
    place = Where(settings.db_path, settings.database_url)
    if place.shared:
        return Result(OK, "settings", f"{mode}, DB {place.name.split(' ', 1)[-1]}")
    return Result(OK, "settings", f"{mode}, DB {settings.db_path}")


def app_token_result(token: str) -> Result:
    """The Socket Mode token's shape; it is not tried, as that would take a connection slot."""
    untried = "not tried: opening a connection would take a slot from the running bot"
    if APP_TOKEN_SHAPE.match(token):
        return Result(OK, "SLACK_APP_TOKEN", f"shaped like an app-level token ({untried})")
    return Result(
        WARN,
        "SLACK_APP_TOKEN",
        f"starts with xapp- but is not shaped like one (xapp-1-A…-…-…); {untried}",
    )


def signing_secret_result(secret: str) -> Result:
    """The signing secret's shape; only a request signed by Slack can prove it."""
    if SIGNING_SECRET_SHAPE.match(secret):
        return Result(OK, "SLACK_SIGNING_SECRET", "shaped like a signing secret (32 hex digits)")
    return Result(
        WARN,
        "SLACK_SIGNING_SECRET",
        "not shaped like Slack's signing secrets (32 hex digits): is it the one from Basic "
        "Information, not the client secret or verification token?",
    )


def slack_result(settings: Settings) -> Result:
    """Ask Slack who the bot token belongs to (auth.test)."""
    client = wiring.cli_slack_client(settings.slack_bot_token, settings.slack_api_url)
    try:
        auth = asyncio.run(who_am_i(client))
    except TokenRefused as refused:
        advice = TOKEN_SOURCES["SLACK_BOT_TOKEN"]
        return Result(FAIL, "SLACK_BOT_TOKEN", f"Slack refused the token ({refused}): {advice}.")
    except (*UNREACHABLE_ERRORS, OSError) as error:
        return Result(
            FAIL,
            "SLACK_API_URL",
            f"could not reach Slack at {settings.slack_api_url} ({why_unreachable(error)})",
        )
    workspace = f"workspace {auth.get('team')!r} ({auth.get('team_id')})"
    bot = f"bot user {auth.get('user')!r} ({auth.get('user_id')})"
    return Result(OK, "SLACK_BOT_TOKEN", f"{workspace}, {bot}")


async def _probe(settings: Settings) -> ProbeAnswer:
    """One GET to the dialer endpoint: it shows whether the PBX answers and takes the key."""
    timeout = float(settings.webfones_timeout)
    async with WebFonesClient(
        settings.webfones_base_url,
        settings.webfones_api_key,
        total_timeout=timeout,
        connect_timeout=min(5.0, timeout),
    ) as client:
        return await client.probe()


def _probe_result(settings: Settings, answer: ProbeAnswer) -> Result:
    """Word a probe the PBX answered without refusing the key."""
    url, status = settings.webfones_base_url, answer.status
    if answer.key_accepted:
        return Result(
            OK,
            "PBX",
            f"{url} answers and accepts the key "
            f"(probe answered {status} in {answer.latency_ms} ms; no call placed)",
        )
    if status == 404:
        return Result(FAIL, "WEBFONES_BASE_URL", f"{url} answered 404: it is not the Dialer API")
    if status == 429:
        return Result(WARN, "PBX", f"{url} is rate limiting this IP (429); the key was not refused")
    return Result(FAIL, "PBX", f"{url} answered {status}: the PBX is failing")


def _probe_failure(settings: Settings, error: DialerError) -> Result:
    """Name the setting behind a failed probe."""
    url = settings.webfones_base_url
    if isinstance(error, ApiKeyRejected):
        why = f": {error.detail}" if error.detail else ""
        return Result(FAIL, "WEBFONES_API_KEY", f"the PBX refused the key ({error.status}){why}")
    if isinstance(error, ApiKeyMissing):
        return Result(FAIL, "WEBFONES_API_KEY", f"the PBX saw no key ({error.status})")
    if isinstance(error, PbxUnreachable):
        why = why_unreachable(error, error.detail)
        return Result(FAIL, "WEBFONES_BASE_URL", f"cannot connect to {url}: {why}")
    if isinstance(error, PbxTimeout):
        return Result(FAIL, "WEBFONES_BASE_URL", f"{url} did not answer: {error.detail}")
    return Result(FAIL, "PBX", f"{url}: {error}")


def pbx_result(settings: Settings) -> Result:
    """Probe the PBX; never POSTs, so never places a call."""
    try:
        answer = asyncio.run(_probe(settings))
    except DialerError as error:
        return _probe_failure(settings, error)
    except ValueError as error:
        return Result(FAIL, "WEBFONES_API_KEY", f"unusable: {error}")
    return _probe_result(settings, answer)


def database_result(settings: Settings) -> Result:
    """Open (and migrate) DIALER_DB, run SQLite's quick check, count the links, and commit a
    write that leaves nothing behind: a full disk or a read-only file fails even while the
    bot runs (and reads still work)."""
    if settings.database_url:
        return shared_database_result(Where(settings.db_path, settings.database_url))
    path = settings.db_path
    where = os.path.abspath(path)
    created = "created, " if not db_exists(path) else ""
    try:
        store = Store(path)
    except (StoreError, OSError) as error:
        return Result(FAIL, "DIALER_DB", f"{where} cannot be used: {error}")
    try:
        verdict, links = store.check(), store.links.count()
        if verdict != "ok":
            return Result(FAIL, "DIALER_DB", f"{where} is damaged: {verdict}")
        store.database.probe_write(wait=PROBE_WAIT_SECONDS)
    except StoreBusy:
        return Result(
            FAIL,
            "DIALER_DB",
            f"{where} stayed locked by another writer for {PROBE_WAIT_SECONDS:g} s: the bot "
            "can't record calls either; is a stuck process holding it?",
        )
    except (StoreError, OSError) as error:
        return Result(FAIL, "DIALER_DB", f"{where} cannot be written: {error}")
    finally:
        store.close()
    return Result(
        OK, "DIALER_DB", f"{where} ({created}integrity ok, writable, {counted(links, 'link')})"
    )


def counted(number: int, noun: str) -> str:
    """'1 link', '2 links', '0 links'."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def why_unreachable(error: BaseException, fallback: str | None = None) -> str:
    """Why a connection failed, in the system's words ("connection refused"), not class names.

    The OSError with an errno is somewhere in the chain (aiohttp's os_error, urllib's reason,
    an exception's cause or context): its errno's words are what an operator can act on.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return f"the host name could not be resolved ({current.strerror or current})"
        if isinstance(current, OSError) and current.errno:
            return os.strerror(current.errno).lower()
        if isinstance(current, TimeoutError):
            return "timed out"
        for attr in ("os_error", "reason"):
            nested = getattr(current, attr, None)
            if isinstance(nested, BaseException):
                pending.append(nested)
        pending += [current.__cause__, current.__context__]
    return fallback or describe(error)


def shared_database_result(place: Where) -> Result:
    """Open (and migrate) DIALER_DATABASE_URL, name the server and the schema version, count
    the links, and commit a write that leaves nothing behind (a standby or a full disk fails
    it). The password is never shown: the store's words name the database without it."""
    name = "DIALER_DATABASE_URL"
    try:
        store: Any = wiring.open_store(place, blocking=True)
    except (StoreError, OSError) as error:
        return Result(FAIL, name, str(error))
    try:
        described, verdict = store.describe(), store.check()
        if verdict != "ok":
            return Result(FAIL, name, f"{described}: {verdict}")
        links = store.links.count()
        store.database.probe_write(wait=PROBE_WAIT_SECONDS)
    except StoreBusy:
        return Result(
            FAIL,
            name,
            f"{place.name.split(' ', 1)[-1]} stayed locked by another writer for "
            f"{PROBE_WAIT_SECONDS:g} s: the bot can't record calls either",
        )
    except StoreError as error:
        return Result(FAIL, name, f"cannot be written: {error}")
    finally:
        store.close()
    return Result(OK, name, f"{described} (writable, {counted(links, 'link')})")


def permissions_result(settings: Settings) -> Result | None:
    """Warn when the database or its side files may be read or written by others (None when
    they are private): they hold phone numbers and who called whom."""
    if settings.database_url:
        return None  # PostgreSQL's files are the server's: its own access rules apply
    exposed = open_to_others(settings.db_path)
    if not exposed:
        return None
    files = [(os.path.abspath(name), mode) for name, mode in exposed]
    which = ", ".join(f"{name} ({mode:04o})" for name, mode in files)
    command = "chmod 600 " + " ".join(shlex.quote(name) for name, _ in files)
    return Result(
        WARN,
        "DIALER_DB",
        f"other users may read or write {which}, which hold phone numbers and call history: "
        f"run `{command}`",
    )


def extension_field_result(settings: Settings) -> Result:
    """DIALER_EXTENSION_FIELD: a field people can't edit, and how many people have a value."""
    ok, detail = directory_summary(settings)
    return Result(OK if ok else FAIL, "DIALER_EXTENSION_FIELD", detail)


def _guarded(name: str, check: Callable[[], Result | None]) -> Result | None:
    """Run one check; an unexpected error fails that check alone, without a traceback."""
    try:
        return check()
    except Exception as error:
        return Result(FAIL, name, f"unexpected {type(error).__name__}: {error}")


def _checks(settings: Settings) -> list[tuple[str, Callable[[], Result | None]]]:
    """The checks to run after the settings, in order (one answering None prints nothing)."""
    checks: list[tuple[str, Callable[[], Result | None]]] = []
    if settings.slack_app_token:
        token = settings.slack_app_token
        checks.append(("SLACK_APP_TOKEN", lambda: app_token_result(token)))
    elif settings.slack_signing_secret:
        secret = settings.slack_signing_secret
        checks.append(("SLACK_SIGNING_SECRET", lambda: signing_secret_result(secret)))
    database_name = "DIALER_DATABASE_URL" if settings.database_url else "DIALER_DB"
    checks += [
        ("SLACK_BOT_TOKEN", lambda: slack_result(settings)),
        ("PBX", lambda: pbx_result(settings)),
        (database_name, lambda: database_result(settings)),
        ("DIALER_DB", lambda: permissions_result(settings)),
    ]
    if settings.extension_field:
        checks.append(("DIALER_EXTENSION_FIELD", lambda: extension_field_result(settings)))
    return checks


def _say(result: Result, env: Env) -> None:
    """Print one result, with any secret scrubbed out."""
    print(safe(result.line(), env), flush=True)


def run_check(args: argparse.Namespace, env: Env) -> int:
    """`check`: exit 0 when every check passes (warnings allowed), 1 when any fails."""
    try:
        settings = load_settings(env)
    except SettingsError as error:  # every bad setting at once, one line each
        for problem in error.problems:
            _say(Result(FAIL, "settings", problem), env)
        return 1
    results = [settings_result(settings)]
    _say(results[0], env)
    for name, check in _checks(settings):
        result = _guarded(name, check)
        if result is not None:
            results.append(result)
            _say(result, env)
    failed = sum(result.status == FAIL for result in results)
    print(f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0
