"""The bot in the test process: built as `python -m bot` builds it, driven by signed requests.

The Bolt app runs on its own event loop in a background thread, as in the real process: a
listener goes on after its ack (response_url posts, Web API calls, the PBX call) while the
test, which stays synchronous, reads what the loopback fakes in tests/fakes recorded. To check
that something did *not* happen, World.idle() waits until the loop has no task left: after
that nothing more can happen, so no quiet period is needed.

Every bot object is built in build_bot() and nowhere else.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
import ssl
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import wiring
from bot.config import load_settings
from bot.logs import SecretScrubber
from bot.runtime import lease
from bot.store import Store
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import (
    app_home_opened_event,
    block_actions_payload,
    event_callback_body,
    message_action_payload,
    signed_headers,
    slash_command_payload,
)
from tests.fakes.slack import FakeSlack
from tests.waiting import wait_until
from tests.workspace import ADMIN, BOT_TOKEN, LINKED, PBX_KEY, SIGNING_SECRET

T = TypeVar("T")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
#: Loggers that chatter below WARNING; the real process silences them too (bot.logs).
NOISY = ("slack_bolt", "slack_sdk", "aiohttp.access", "httpx", "httpcore")


# --- the one place that builds bot objects ------------------------------------------------------


@dataclass
class Bot:
    """The pieces a test drives: the Bolt app, its store, and how to close what it opened."""

    app: AsyncApp
    store: Store
    close: Callable[[], Awaitable[None]]
    log_filter: logging.Filter


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every test's PBX client: loading the CA bundle takes ~0.3 s a time."""
    return httpx.create_ssl_context()


async def build_bot(env: dict[str, str]) -> Bot:
    """Build the bot as `python -m bot` does (bot.wiring.build), minus what only the process does.

    Left out: the HTTP server or WebSocket (requests are dispatched straight to Bolt), the
    start-up auth.test, the hourly pruner and signal handling. The store joins the database's
    processes as the process does (bot.runtime.lease.join). One difference: the PBX client
    gets a transport sharing one TLS context (the fake PBX is plain http, so TLS is never
    used) instead of loading the CA bundle again per test.
    """
    settings = load_settings(env)
    built = wiring.build(settings, pbx_transport=httpx.AsyncHTTPTransport(verify=_tls()))
    lease.join(built.store)
    return Bot(built.app, built.store, built.aclose, SecretScrubber(settings.secrets))


# --- the event loop thread ----------------------------------------------------------------------


class LoopThread:
    """An asyncio loop running forever in a daemon thread; run() hands it coroutines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="bot-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the loop and answer its result (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


async def _settle(timeout: float) -> bool:
    """Wait (up to timeout) for every other task on this loop to end; answer whether they did."""
    current = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pending = {task for task in asyncio.all_tasks() if task is not current}
        remaining = deadline - loop.time()
        if not pending or remaining <= 0:
            return not pending
        await asyncio.wait(pending, timeout=remaining)


class LogCapture(logging.Handler):
    """Keeps the lines the bot logs (INFO and up, noisy libraries at WARNING), like stderr."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop what the real process drops: library chatter below WARNING."""
        noisy = any(record.name == n or record.name.startswith(n + ".") for n in NOISY)
        return not (noisy and record.levelno < logging.WARNING) and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one formatted line."""
        self.lines.append(self.format(record) + "\n")


# --- the world a test sees ----------------------------------------------------------------------


class World:
    """The bot in-process against the loopback fakes, with tests/e2e/conftest.py's World API.

    `mode` is "http" (signed form and JSON bodies, as Slack posts them) or "socket" (Socket
    Mode envelopes' payloads, as Bolt's Socket Mode handler dispatches them).
    """

    def __init__(self, tmp_path: Path, pbx: FakePbx, slack: FakeSlack, mode: str = "http") -> None:
        assert mode in ("http", "socket"), mode
        self.tmp_path = tmp_path
        self.pbx = pbx
        self.slack = slack
        self.mode = mode
        self.db_path = str(tmp_path / "dialer.db")
        self.extra_env: dict[str, str] = {}
        self.bot: Bot | None = None
        self._loop: LoopThread | None = None
        self._logs = LogCapture()
        self._root_level: int | None = None

    @property
    def env(self) -> dict[str, str]:
        """The contract's settings, pointed at the loopback fakes."""
        slack_auth = (
            {"SLACK_SIGNING_SECRET": SIGNING_SECRET}
            if self.mode == "http"
            else {"SLACK_APP_TOKEN": self.slack.app_token}
        )
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            **slack_auth,
            "SLACK_API_URL": self.slack.api_url,
            "WEBFONES_API_KEY": PBX_KEY,
            "WEBFONES_BASE_URL": self.pbx.url,
            "DIALER_DB": self.db_path,
            "DIALER_ADMINS": ADMIN,
            **self.extra_env,
        }

    @property
    def log(self) -> str:
        """Everything the bot logged so far, one line per record."""
        return "".join(self._logs.lines)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, **env: str) -> World:
        """Build the bot (again, on the same database) with extra settings."""
        self.extra_env.update(env)
        self._loop = LoopThread()
        self.bot = self._loop.run(build_bot(self.env))
        self._logs.filters[:] = [self.bot.log_filter]
        root = logging.getLogger()
        if self._root_level is None:
            self._root_level = root.level
            root.setLevel(logging.INFO)
            root.addHandler(self._logs)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Let listeners still running finish (as SIGTERM does), then close everything."""
        if self._loop is None or self.bot is None:
            return
        loop, bot, self._loop, self.bot = self._loop, self.bot, None, None
        try:
            loop.run(_settle(timeout), timeout + 5)
            loop.run(bot.close())
        finally:
            loop.close()
            if self._root_level is not None:
                root = logging.getLogger()
                root.removeHandler(self._logs)
                root.setLevel(self._root_level)
                self._root_level = None

    def restart(self, **env: str) -> World:
        """Stop and build the bot again on the same database."""
        self.stop()
        return self.start(**env)

    def idle(self, timeout: float = 10.0) -> None:
        """Wait until no listener, reply or PBX call is running: nothing more will happen."""
        assert self._loop is not None, "the bot is not running"
        assert self._loop.run(_settle(timeout), timeout + 5), (
            f"the bot was still busy after {timeout}s"
        )

    # --- requests -------------------------------------------------------------------------------

    def dispatch(
        self, body: str | dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """Hand one request to Bolt as its adapter would; answer (status, body of the ack)."""
        assert self._loop is not None and self.bot is not None, "the bot is not running"
        mode = "http" if isinstance(body, str) else "socket_mode"
        request = AsyncBoltRequest(body=body, headers=headers or {}, mode=mode)
        response = self._loop.run(self.bot.app.async_dispatch(request))
        text = response.body if isinstance(response.body, str) else json.dumps(response.body)
        return response.status, text

    def post(
        self,
        body: str,
        *,
        content_type: str = FORM,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> tuple[int, str]:
        """A signed HTTP request body (optionally signed wrongly); answer (status, ack body)."""
        headers = signed_headers(body, secret, timestamp=timestamp, content_type=content_type)
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        return self.dispatch(body, headers)

    def send(self, kind: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One Slack request of a kind (slash_commands, interactive, events_api), in this mode."""
        if self.mode == "socket":
            status, text = self.dispatch(payload)
        elif kind == "slash_commands":
            status, text = self.post(urllib.parse.urlencode(payload))
        elif kind == "interactive":
            status, text = self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))
        else:
            status, text = self.post(json.dumps(payload), content_type=JSON)
        return status, _ack(text)

    def command(self, command: str, text: str, user: str) -> tuple[int, dict, str]:
        """A slash command; answer (status, ack JSON or {}, response_url)."""
        response_url = self.slack.response_url()
        payload = slash_command_payload(command, text, user_id=user, response_url=response_url)
        status, ack = self.send("slash_commands", payload)
        return status, ack, response_url

    def dial(self, text: str, user: str = "UALICE001") -> tuple[int, dict, str]:
        """A /dial."""
        return self.command("/dial", text, user)

    def link(self, text: str, user: str = ADMIN) -> tuple[int, dict, str]:
        """A /dial-link."""
        return self.command("/dial-link", text, user)

    def shortcut(self, message_text: str, user: str = "UALICE001") -> tuple[int, str]:
        """A message_action for dial_from_message; answer (status, response_url)."""
        response_url = self.slack.response_url()
        payload = message_action_payload(user_id=user, text=message_text, response_url=response_url)
        status, _ = self.send("interactive", payload)
        return status, response_url

    def click(self, action_id: str, value: str, user: str = "UALICE001") -> tuple[int, str]:
        """A block_actions click on a choice button; answer (status, response_url)."""
        response_url = self.slack.response_url()
        payload = block_actions_payload(
            user_id=user, action_id=action_id, value=value, response_url=response_url
        )
        status, _ = self.send("interactive", payload)
        return status, response_url

    def interact(self, payload: dict[str, Any]) -> tuple[int, dict]:
        """Any interactivity payload (buttons, shortcuts, view submissions); (status, ack)."""
        return self.send("interactive", payload)

    def event(self, event: dict[str, Any]) -> int:
        """An Events API event_callback; answer the status."""
        status, _ = self.send("events_api", json.loads(event_callback_body(event)))
        return status

    # --- results --------------------------------------------------------------------------------

    def final_reply(self, response_url: str, count: int = 1, timeout: float = 10.0) -> str:
        """The text of the count-th reply posted to response_url."""
        posts = self.slack.wait_for_posts(response_url, count=count, timeout=timeout)
        return posts[count - 1]["text"]

    def homes(self, user: str) -> list[dict]:
        """Every Home view published for the user, oldest first."""
        calls = self.slack.calls_to("views.publish")
        return [c.params["view"] for c in calls if c.params.get("user_id") == user]

    def latest_home(self, user: str, after: int = 0, timeout: float = 5.0) -> dict:
        """The newest Home view published for the user, waiting for one past the first `after`."""
        found = wait_until(
            lambda: self.homes(user)[after:], timeout=timeout, what=f"a Home view for {user}"
        )
        return found[-1]

    def open_home(self, user: str) -> dict:
        """Send app_home_opened and answer the view the bot published for that user."""
        before = len(self.homes(user))
        assert self.event(app_home_opened_event(user)) == 200
        return self.latest_home(user, after=before)

    def rows(self, sql: str, *args: object) -> list[tuple]:
        """Read the bot's SQLite file from outside the bot."""
        with closing(sqlite3.connect(self.db_path, timeout=10)) as conn:
            return conn.execute(sql, args).fetchall()

    def audit_rows(self) -> list[dict]:
        """The audit log as the bot wrote it, oldest first."""
        with closing(sqlite3.connect(self.db_path, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute("SELECT * FROM calls ORDER BY id")]

    def outcomes(self, user: str) -> list[str]:
        """The call log outcomes of one user, oldest first."""
        found = self.rows("SELECT outcome FROM calls WHERE user_id = ? ORDER BY id", user)
        return [outcome for (outcome,) in found]

    def seed_links(self, links: dict[str, str] | None = None) -> None:
        """Write links straight into the bot's store, as an admin's /dial-link would have."""
        assert self._loop is not None and self.bot is not None, "the bot is not running"
        store = self.bot.store

        async def seed() -> None:
            for user, extension in (LINKED if links is None else links).items():
                store.links.set(user, extension, ADMIN)

        self._loop.run(seed())

    def link_everyone(self) -> None:
        """Link the standard test users through /dial-link, as an admin would."""
        for user, extension in LINKED.items():
            status, ack, _ = self.link(f"<@{user}> {extension}")
            assert status == 200 and "Linked" in ack["text"], ack


def _ack(text: str) -> dict:
    """An ack body as JSON; {} when empty, {"raw": text} when not a JSON object."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"raw": text}
