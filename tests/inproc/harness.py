"""The bot in the test process: built as `python -m bot` builds it, reached as Slack reaches it.

The bot runs on its own event loop in a background thread, as in the real process. In HTTP
mode its real aiohttp application (bot.slack.http_server.create_web_app) is served by aiohttp's
test server on a loopback port, and requests are real signed HTTP requests. In Socket Mode
its real Socket Mode intake (bot.slack.socket_client.SocketModeIntake) connects to a loopback
FakeSocketMode, and requests are envelopes over the WebSocket. A listener goes on after its
ack (response_url posts, Web API calls, the PBX call) while the test, which stays
synchronous, reads what the loopback fakes in tests/fakes recorded.

Time is injected: the store reads a FakeClock (real time plus an offset the test moves
forward), so a test waits out the 10-second duplicate guard or a PBX pause with advance(),
and Slack-unreachable retries follow a short Backoff. To check that something did *not*
happen, World.idle() waits until the loop has no task left but the forever ones (the
WebSocket's reader, the identity learner): after that nothing more can happen, so no quiet
period is needed.

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
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_bolt.async_app import AsyncApp

from bot.config import load_settings
from bot.domain.backoff import Backoff
from bot.logs import BoltSuggestionTrimmer, JsonFormatter, SecretScrubber, TextFormatter
from bot.runtime import process
from bot.slack.http_server import EVENTS_PATH
from bot.slack.socket_client import SocketModeIntake
from bot.store import Store
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import (
    app_home_opened_event,
    block_actions_payload,
    event_callback_body,
    message_action_payload,
    post_raw,
    signed_headers,
    slash_command_payload,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.waiting import wait_until
from tests.workspace import ADMIN, BOT_TOKEN, LINKED, PBX_KEY, SIGNING_SECRET

T = TypeVar("T")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
#: Slack's own limit for an ack: a later one is an error the user sees.
ACK_SECONDS = 3.0
#: Loggers that chatter below WARNING; the real process silences them too (bot.logs).
NOISY = ("slack_bolt", "slack_sdk", "aiohttp.access", "httpx", "httpcore")
#: Waits while Slack is away: the production schedule's shape, in fractions of a second.
FAST_BACKOFF = Backoff(0.05, 0.2)
#: Coroutines that run for the bot's whole life: idle() does not wait for them.
FOREVER = frozenset(
    {
        "keep_trying",  # the identity learner, while Slack is away
        "connect_async",  # the first Socket Mode connection, while Slack is away
        "receive_messages",
        "monitor_current_session",
        "process_messages",
        "keep",  # the lease heartbeat
        "prune_forever",  # the hourly pruner
    }
)


# --- a clock the test moves ---------------------------------------------------------------------


class FakeClock:
    """Real time plus an offset: advance(seconds) jumps ahead; nothing waits for it.

    The offset keeps it consistent with time.time() readings the bot takes itself (a PBX
    pause is stored as time.time() + Retry-After and compared with the store's clock).
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock `seconds` ahead."""
        self.offset += seconds


# --- the one place that builds bot objects ------------------------------------------------------


@dataclass
class Bot:
    """The pieces a test drives: the Bolt app, its store, its transport, and how to close it."""

    app: AsyncApp
    store: Store
    web_app: web.Application | None  # HTTP mode: serve it
    intake: SocketModeIntake | None  # Socket Mode: connect it
    close: Callable[[], Awaitable[None]]
    log_filter: logging.Filter
    log_format: str = "text"
    background: list[asyncio.Task] = field(default_factory=list)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every test's PBX client: loading the CA bundle takes ~0.3 s a time."""
    return httpx.create_ssl_context()


async def build_bot(env: dict[str, str], clock: Callable[[], float], backoff: Backoff) -> Bot:
    """Build and start the bot as `python -m bot` does (bot.runtime.process), minus the process.

    The same steps as bot.runtime.process.run: bot.wiring builds every component, the store
    joins the database's processes, `start` learns who the bot is and starts the heartbeat,
    the pruner, the metrics port and the Socket Mode intake. Left out: listening on PORT (the
    World serves the web app itself) and signal handling. Swapped: the clock the store reads,
    the Slack-away backoff, and the PBX client's transport, which shares one TLS context (the
    fake PBX is plain http) instead of loading the CA bundle again per test.
    """
    settings = load_settings(env)
    transport = httpx.AsyncHTTPTransport(verify=_tls())
    built = process.open_database(settings, pbx_transport=transport, clock=clock)
    serving = await process.start(built, backoff)

    async def close() -> None:
        await process.stop(serving, drain_seconds=None)  # World.stop waited for them

    web_app = None if settings.socket_mode else built.web_app()
    scrubber = SecretScrubber(settings.secrets)
    return Bot(
        built.app,
        built.store,
        web_app,
        serving.intake,
        close,
        scrubber,
        settings.log_format,
        list(serving.background),
    )


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


def _busy(task: asyncio.Task) -> bool:
    """Whether a task is work in progress (not one of the bot's forever loops)."""
    return getattr(task.get_coro(), "__name__", "") not in FOREVER


async def _settle(timeout: float) -> bool:
    """Wait (up to timeout) for every other busy task on this loop to end; answer if they did."""
    current = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pending = {t for t in asyncio.all_tasks() if t is not current and _busy(t)}
        remaining = deadline - loop.time()
        if not pending or remaining <= 0:
            return not pending
        await asyncio.wait(pending, timeout=remaining)


async def _running(name: str) -> int:
    """How many tasks on this loop run a coroutine of this name."""
    return sum(getattr(t.get_coro(), "__name__", "") == name for t in asyncio.all_tasks())


class LogCapture(logging.Handler):
    """Keeps the lines the bot logs as the process prints them (bot.logs' formats and filters).

    Records logged while the bot is being built wait until use() names the format and the
    secrets to scrub, as the process configures logging before it builds anything.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._waiting: list[logging.LogRecord] | None = []
        self._cleaners: list[logging.Filter] = []
        self._lines_lock = threading.Lock()

    def pause(self) -> None:
        """Hold records until use() (the bot is being built again)."""
        with self._lines_lock:
            if self._waiting is None:
                self._waiting = []

    def use(self, fmt: str, scrubber: logging.Filter) -> None:
        """Format as DIALER_LOG_FORMAT says, scrubbing these secrets."""
        with self._lines_lock:
            self.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
            self._cleaners = [BoltSuggestionTrimmer(), scrubber]
            waiting, self._waiting = self._waiting, None
            for record in waiting or ():
                self._keep(record)

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop what the real process drops: library chatter below WARNING."""
        noisy = any(record.name == n or record.name.startswith(n + ".") for n in NOISY)
        return not (noisy and record.levelno < logging.WARNING) and bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one formatted record (a traceback adds indented lines, as in the process)."""
        with self._lines_lock:
            if self._waiting is not None:
                self._waiting.append(record)
            else:
                self._keep(record)

    def _keep(self, record: logging.LogRecord) -> None:
        for cleaner in self._cleaners:
            cleaner.filter(record)
        self.lines.append(self.format(record) + "\n")


# --- the world a test sees ----------------------------------------------------------------------


class World:
    """The bot in-process against the loopback fakes, with tests/e2e/conftest.py's World API.

    `mode` is "http" (signed form and JSON bodies over HTTP, as Slack posts them) or
    "socket" (envelopes over a FakeSocketMode WebSocket, as Slack sends them).
    """

    def __init__(
        self,
        tmp_path: Path,
        pbx: FakePbx,
        slack: FakeSlack,
        mode: str = "http",
        *,
        socket: FakeSocketMode | None = None,
        clock: FakeClock | None = None,
        backoff: Backoff = FAST_BACKOFF,
    ) -> None:
        assert mode in ("http", "socket"), mode
        self.tmp_path = tmp_path
        self.pbx = pbx
        self.slack = slack
        self.mode = mode
        self.clock = clock or FakeClock()
        self.backoff = backoff
        self.db_path = str(tmp_path / "dialer.db")
        self.extra_env: dict[str, str] = {}
        self.bot: Bot | None = None
        self.url = ""  # HTTP mode: where Slack sends requests
        self.socket = socket
        self._own_socket = False
        if mode == "socket" and socket is None:
            self.socket = FakeSocketMode().start()
            self._own_socket = True
        if self.socket is not None and slack.socket_mode_url is None:
            slack.socket_mode_url = self.socket.url
        self._server: TestServer | None = None
        self._connecting: asyncio.Future | None = None
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

    def log_lines(self) -> list[str]:
        """The log as lines (a record with a traceback spans several)."""
        return self.log.splitlines()

    def json_records(self) -> list[dict[str, Any]]:
        """Every log line parsed as JSON (DIALER_LOG_FORMAT=json); fails on any other line."""
        parsed = []
        for line in self.log_lines():
            try:
                record = json.loads(line)
            except ValueError:
                raise AssertionError(f"not a JSON log line: {line!r}") from None
            assert isinstance(record, dict), line
            assert record.keys() >= {"time", "level", "logger", "message"}, line
            parsed.append(record)
        return parsed

    def wait_logged(self, text: str, count: int = 1, timeout: float = 10.0) -> None:
        """Block until the bot logged `text` `count` times."""
        wait_until(
            lambda: self.log.count(text) >= count,
            timeout=timeout,
            what=f"{text!r} logged {count}x",
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, *, ready: bool = True, **env: str) -> World:
        """Build the bot (again, on the same database) with extra settings, and let Slack in.

        ready=False: in Socket Mode, do not wait for the WebSocket (Slack may be away).
        """
        self.extra_env.update(env)
        self._loop = LoopThread()
        root = logging.getLogger()
        if self._root_level is None:
            self._root_level = root.level
            root.setLevel(logging.INFO)
            root.addHandler(self._logs)
        self._logs.pause()
        self.bot = self._loop.run(build_bot(self.env, self.clock, self.backoff))
        self._logs.use(self.bot.log_format, self.bot.log_filter)
        if self.bot.web_app is not None:
            self._server = TestServer(self.bot.web_app, host="127.0.0.1")
            self._loop.run(self._server.start_server(access_log=None))
            self.url = str(self._server.make_url(EVENTS_PATH))
        if self.bot.intake is not None:
            assert self.socket is not None
            before = self.socket.connections
            self._connecting = self._loop.run(self._connect(self.bot.intake))
            if ready:
                self.socket.wait_connected(timeout=10, min_connections=before + 1)
        return self

    async def _connect(self, intake: SocketModeIntake) -> asyncio.Future:
        return asyncio.ensure_future(intake.connect_async())

    def stop(self, timeout: float = 20.0) -> None:
        """Stop taking requests, let listeners still running finish (as SIGTERM does), close."""
        if self._loop is None or self.bot is None:
            return
        loop, bot, self._loop, self.bot = self._loop, self.bot, None, None
        server, self._server = self._server, None
        connecting, self._connecting = self._connecting, None
        try:
            if server is not None:
                loop.run(server.close(), timeout + 5)
            if bot.intake is not None:
                loop.run(self._stop_intake(bot.intake, connecting), timeout + 5)
            loop.run(_settle(timeout), timeout + 5)
            loop.run(bot.close())
        finally:
            loop.close()
            if self._root_level is not None:
                root = logging.getLogger()
                root.removeHandler(self._logs)
                root.setLevel(self._root_level)
                self._root_level = None

    @staticmethod
    async def _stop_intake(intake: SocketModeIntake, connecting: asyncio.Future | None) -> None:
        if connecting is not None and not connecting.done():
            connecting.cancel()  # stopped while Slack could not be reached
        await intake.stop_intake()

    def close(self) -> None:
        """Stop the bot and the fakes this World started."""
        self.stop()
        if self._own_socket and self.socket is not None:
            self.socket.stop()
            self._own_socket = False

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

    def running(self, coroutine_name: str) -> int:
        """How many of the bot's tasks run a coroutine of that name (e.g. "keep_trying")."""
        assert self._loop is not None, "the bot is not running"
        return self._loop.run(_running(coroutine_name))

    def advance(self, seconds: float) -> None:
        """Move the bot's clock ahead: the duplicate guard, budgets and pauses see the time pass."""
        self.clock.advance(seconds)

    # --- requests -------------------------------------------------------------------------------

    def post_raw(
        self, body: str | bytes, headers: dict[str, Any], timeout: float = 10.0
    ) -> tuple[int, str, float]:
        """POST bytes as they are with exactly these headers; answer (status, text, seconds)."""
        assert self.url, "HTTP mode only"
        if isinstance(body, bytes):
            return _post_bytes(self.url, body, headers, timeout)
        return post_raw(self.url, body, headers, timeout=timeout)

    def post(
        self,
        body: str,
        *,
        content_type: str = FORM,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        signature: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """A signed HTTP request body (optionally signed wrongly); answer (status, ack body)."""
        headers = signed_headers(body, secret, timestamp=timestamp, content_type=content_type)
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        headers.update(extra_headers or {})
        status, text, seconds = self.post_raw(body, headers)
        if status == 200:
            assert seconds < ACK_SECONDS, f"late ack: {seconds:.2f}s"
        return status, text

    def envelope(
        self, kind: str, payload: dict[str, Any], **envelope: Any
    ) -> tuple[str, dict[str, Any]]:
        """Send one Socket Mode envelope, wait for its ack (in 3 s); answer (id, ack message)."""
        assert self.socket is not None, "Socket Mode only"
        envelope_id = self.socket.send_envelope(kind, payload, **envelope)
        ack = self.socket.wait_ack(envelope_id, timeout=ACK_SECONDS + 2)
        latency = self.socket.ack_latency(envelope_id)
        assert latency is not None and latency < ACK_SECONDS, f"late ack: {latency}s"
        return envelope_id, ack

    def send(
        self, kind: str, payload: dict[str, Any], *, retry: int = 0
    ) -> tuple[int, dict[str, Any]]:
        """One Slack request of a kind (slash_commands, interactive, events_api), in this mode.

        retry: Slack's retry number (an X-Slack-Retry-Num header, or the envelope's
        retry_attempt). Answers (status, the ack as JSON or {}).
        """
        if self.mode == "socket":
            extra = {"retry_attempt": retry, "retry_reason": "timeout"} if retry else {}
            if kind == "events_api":
                extra["accepts_response_payload"] = False
            _, ack = self.envelope(kind, payload, **extra)
            return 200, ack.get("payload") or {}
        if kind == "slash_commands":
            status, text = self.post(urllib.parse.urlencode(payload))
        elif kind == "interactive":
            status, text = self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))
        else:
            retry_headers = (
                {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
                if retry
                else None
            )
            status, text = self.post(
                json.dumps(payload), content_type=JSON, extra_headers=retry_headers
            )
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

    def get(self, path: str) -> tuple[int, str, str]:
        """GET a path of the HTTP server (/healthz, /metrics): (status, content type, text)."""
        assert self._server is not None, "HTTP mode only"
        return http_get(str(self._server.make_url(path)))

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


def _post_bytes(
    url: str, body: bytes, headers: dict[str, Any], timeout: float
) -> tuple[int, str, float]:
    """POST raw bytes (even not UTF-8) with exactly these headers."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode("utf-8", errors="replace")
    return status, text, time.perf_counter() - started


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str, str]:
    """GET a URL: (status, content type, text), for 4xx/5xx too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return (
                response.status,
                response.headers["Content-Type"],
                response.read().decode("utf-8"),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode("utf-8")


def _ack(text: str) -> dict:
    """An ack body as JSON; {} when empty, {"raw": text} when not a JSON object."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"raw": text}


def start_up(env: dict[str, str], monkeypatch: Any, capsys: Any) -> tuple[int, str]:
    """`python -m bot` with exactly these settings (no .env), in this process, up to the point
    where it would start serving: answer (exit status, standard error). For settings errors
    only: a good configuration would go on to serve."""
    from bot.__main__ import main
    from tests.cliproc import SETTINGS
    from tests.logging_state import logging_kept

    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in {"DIALER_ENV_FILE": "/nonexistent/.env", **env}.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    with logging_kept():  # main() points logging at this test's captured stderr
        code = main([])
    return code, capsys.readouterr().err
