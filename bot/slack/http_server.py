"""HTTP mode on aiohttp: POST /slack/events for Slack, GET /healthz and GET /metrics.

What faces the internet is PORT, and on it only Slack's path matters: Slack signs every request
it sends, and a reverse proxy should forward only POST /slack/events. /healthz and /metrics are
for the operator's load balancer and monitoring: served on PORT too unless DIALER_METRICS_PORT
is set, and then only there (on DIALER_METRICS_HOST, this machine by default), not on PORT.
Every listener is bounded by bot.slack.connections (read timeouts, a cap on open connections).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.metrics import METRICS_PATH, Metrics
from bot.slack.connections import ClientGone, ConnectionGuard, GuardedSite, read_body
from bot.store.runner import StoreRunner

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
#: What the operator's side serves: on PORT unless DIALER_METRICS_PORT is set, then only there.
OPERATOR_PATHS = (HEALTH_PATH, METRICS_PATH)
MAX_BODY_BYTES = 1024 * 1024
#: Slack's signature window (SignatureVerifier refuses older); used here only to name the reason.
SIGNATURE_WINDOW_SECONDS = 300
TIMESTAMP = re.compile(r"\d{1,12}")
#: What /healthz says of each problem Store.health() reports (never the file's path: anyone
#: may ask); the operator's log has the detail.
HEALTH_PROBLEMS = {
    "read-only": "the last write to the database failed: it is read-only",
    "full": "the last write to the database failed: the disk is full",
    "failing": "the last write to the database failed",
    "replaced": "DIALER_DB was deleted or replaced while the bot was running",
    "stale": "this process's heartbeat on the database is late",
}


class Refused(Exception):
    """A request that is not served: its HTTP status and the reason for the one log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verified_text(raw: bytes, headers: dict, verifier: SignatureVerifier) -> str:
    """The body as text if Slack signed it in the last 5 minutes; Refused otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if not timestamp or not signature:
        raise Refused(401, "no Slack signature")
    if not TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, "the signature timestamp is not a number")
    if verifier.is_valid(text, timestamp, signature):
        return text
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        raise Refused(401, "the signature is more than 5 minutes old")
    raise Refused(401, "the signature does not match")


def bolt_request(text: str, request: web.Request) -> AsyncBoltRequest:
    """Bolt's request for a verified body; Refused (400) if Bolt cannot read its fields."""
    try:
        bolt = AsyncBoltRequest(
            body=text,
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        # Not form fields, not a JSON object, or a payload= that is not one.
        raise Refused(400, f"the body cannot be read ({type(error).__name__})") from None
    fields = _misread_form(text, bolt)
    if fields is None:
        return bolt
    # Bolt takes any form body with the word "payload" in it for an interaction and finds
    # nothing (`/dial payload`): hand it the fields, keeping the raw body it verifies.
    bolt = AsyncBoltRequest(
        body=fields,
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]
        mode="socket_mode",  # the only mode that takes fields already read
    )
    bolt.raw_body, bolt.mode = text, "http"
    return bolt


def _misread_form(text: str, bolt: AsyncBoltRequest) -> dict[str, str] | None:
    """The form fields of a body Bolt read as empty for containing "payload"; else None."""
    if bolt.body or "payload" not in text or bolt.content_type == "application/json":
        return None
    fields = dict(parse_qsl(text, keep_blank_values=True))
    return fields if fields and "payload" not in fields else None


def log_refusal(request: web.Request, refused: Refused, size: int | None) -> None:
    """One short line per refused request: why, how big, from where; never the body."""
    log.warning(
        "refused a request to %s: %s (%s bytes, from %s)",
        EVENTS_PATH,
        refused.reason,
        "unknown" if size is None else size,
        request.remote or "an unknown address",
    )


def create_web_app(
    app: AsyncApp, db: StoreRunner, metrics: Metrics, signing_secret: str
) -> web.Application:
    """An aiohttp application that hands Slack's requests to Bolt, reports health and metrics."""
    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        size = request.content_length
        try:
            try:
                raw = await read_body(request)
            except web.HTTPRequestEntityTooLarge:
                raise Refused(413, f"the body is over {MAX_BODY_BYTES} bytes") from None
            except ClientGone:  # nobody to answer; counted by the connection guard
                return web.Response(status=408)
            size = len(raw)
            text = verified_text(raw, request.headers, verifier)  # type: ignore[arg-type]
            bolt = bolt_request(text, request)
        except Refused as refused:
            log_refusal(request, refused, size)
            return web.json_response({"error": "invalid request"}, status=refused.status)
        return await to_aiohttp_response(await app.async_dispatch(bolt))

    async def healthz(request: web.Request) -> web.Response:
        # From what the process already knows (the last write, the heartbeat, the file):
        # no query, so any number of probes cost next to nothing. `check` runs the full test.
        health = db.store.health()
        if health.ok:
            return web.json_response({"ok": True, "database": "ok"})
        problem = health.problem or "failing"
        body = {"ok": False, "database": problem, "problem": HEALTH_PROBLEMS[problem]}
        return web.json_response(body, status=503)

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.add_routes([web.post(EVENTS_PATH, slack_events), web.get(HEALTH_PATH, healthz)])
    web_app.add_routes([web.get(METRICS_PATH, metrics.handle_scrape)])
    return web_app


@dataclass(frozen=True)
class Listener:
    """One address to serve on: the setting that names it (for errors), and its paths."""

    setting: str
    host: str
    port: int
    paths: Collection[str] | None = None  # None: every route of the app

    @property
    def address(self) -> str:
        """host:port, as the ready line and errors say it."""
        return f"{self.host}:{self.port}"


class CannotListen(Exception):
    """A listener's address could not be bound; names the listener and the system's reason."""

    def __init__(self, listener: Listener, reason: str) -> None:
        super().__init__(f"{listener.setting} {listener.port} on {listener.host}: {reason}")
        self.listener = listener
        self.reason = reason


def listeners(host: str, port: int, metrics_host: str, metrics_port: int | None) -> list[Listener]:
    """PORT for Slack (and the operator's paths unless DIALER_METRICS_PORT moves them away)."""
    if metrics_port is None:
        return [Listener("PORT", host, port)]
    return [
        Listener("PORT", host, port, paths=(EVENTS_PATH,)),
        Listener("DIALER_METRICS_PORT", metrics_host, metrics_port, paths=OPERATOR_PATHS),
    ]


async def serve_http(
    web_app: web.Application, where: Sequence[Listener], *, cap: int
) -> web.AppRunner:
    """Listen on every address, at most `cap` connections in all; answer the runner to stop.

    Raises CannotListen (after closing whatever had started) when an address can't be bound.
    """
    guard = ConnectionGuard(cap)
    web_app.middlewares.append(guard.middleware)

    async def stop_guarding(_: web.Application) -> None:
        guard.report.close()

    web_app.on_cleanup.append(stop_guarding)
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    for listener in where:
        site = GuardedSite(runner, guard, listener.host, listener.port, paths=listener.paths)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise CannotListen(listener, error.strerror or str(error)) from None
    return runner
