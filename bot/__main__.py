"""Start-up: load .env and settings, open the database and the PBX client, pick the mode."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
from urllib.parse import urlsplit

from aiohttp import web
from dotenv import load_dotenv
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot import cli, logs
from bot.config import SECRET_NAMES, Settings, SettingsError, load_settings
from bot.domain.backoff import Backoff
from bot.metrics import METRICS_PATH, Metrics, serve_metrics
from bot.pbx import WebFonesClient
from bot.runtime import lease
from bot.services.dialing import DialService
from bot.slack import replays
from bot.slack.app import create_app
from bot.slack.http_server import EVENTS_PATH, create_web_app, serve_http
from bot.slack.identity import TRY_SECONDS, SlackIdentity, TokenRefused
from bot.slack.retry import UNREACHABLE_ERRORS
from bot.slack.socket_client import PatientSocketModeClient
from bot.store import Store, StoreBusy
from bot.store.runner import StoreRunner

log = logging.getLogger("bot")

DRAIN_SECONDS = 20.0
ACK_SECONDS = 3.0  # Slack's deadline for an ack: envelopes already being handled get that long
PRUNE_EVERY_SECONDS = 3600.0
PING_SECONDS = 10.0  # Bolt's default for Socket Mode: how often a silent connection is checked


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line the operator sees."""


def open_store(settings: Settings) -> Store:
    """Open (and migrate) the SQLite file, or explain in one line why not."""
    try:
        store = Store(settings.db_path)
        lease.join(store)  # settles only the calls of processes that are gone
    except (sqlite3.Error, StoreBusy) as error:
        raise StartupError(f"DIALER_DB {settings.db_path!r} cannot be opened: {error}.") from None
    return store


async def learn_identity(identity: SlackIdentity, backoff: Backoff) -> asyncio.Task | None:
    """Fail fast on a bot token Slack refuses; if Slack is away, keep asking in the background."""
    try:
        reason = await identity.try_once()
    except TokenRefused as refused:
        raise StartupError(f"SLACK_BOT_TOKEN was refused by Slack ({refused}).") from None
    if reason is None:
        return None
    return asyncio.create_task(identity.keep_trying(reason, backoff))


async def prune_forever(db: StoreRunner, days: int) -> None:
    """Keep the audit log to DIALER_LOG_DAYS, checking hourly."""
    while True:
        try:
            removed = await db.run_in_pool(db.store.prune_calls, days)
            if removed:
                log.info("pruned %d call log rows older than %d days", removed, days)
        except Exception as error:
            log.warning("could not prune the call log: %s", type(error).__name__)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)


class SocketModeIntake(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler that can stop taking envelopes yet ack those it holds."""

    def __init__(self, app: AsyncApp, app_token: str, backoff: Backoff) -> None:
        # Not super().__init__: that builds slack_sdk's own client, which would be thrown away.
        self.app = app
        self.app_token = app_token
        self.client = PatientSocketModeClient(
            app_token=app_token,
            logger=app.logger,
            # Without slack_sdk's own retry on connection errors: the schedule is ours.
            web_client=AsyncWebClient(base_url=app.client.base_url, retry_handlers=[]),
            ping_interval=PING_SECONDS,
            backoff=backoff,
        )
        self.client.socket_mode_request_listeners.append(self.handle)
        self.accepting = True
        self._acking: set[asyncio.Task] = set()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        """Dispatch one envelope to Bolt and ack it, unless the bot is shutting down."""
        if not self.accepting:
            return  # not acked: we are leaving, and Slack sees the socket close right after
        task = asyncio.current_task()
        if task is not None:
            self._acking.add(task)
        envelope = replays.ENVELOPE_ID.set(req.envelope_id)
        try:
            await super().handle(client, req)
        finally:
            replays.ENVELOPE_ID.reset(envelope)
            if task is not None:
                self._acking.discard(task)

    async def stop_intake(self) -> None:
        """Take no new envelopes, ack the ones being handled, then close the WebSocket."""
        self.accepting = False
        pending = [task for task in self._acking if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=ACK_SECONDS)
        await self.close_async()


async def open_socket_mode(app: AsyncApp, app_token: str, backoff: Backoff) -> SocketModeIntake:
    """Check the app-level token with apps.connections.open; fail fast if Slack refuses it."""
    handler = SocketModeIntake(app, app_token, backoff)
    try:
        async with asyncio.timeout(TRY_SECONDS):
            opened = await handler.client.web_client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        await handler.close_async()
        code = error.response.get("error", "refused")
        raise StartupError(f"SLACK_APP_TOKEN was refused by Slack ({code}).") from None
    except UNREACHABLE_ERRORS:
        pass  # the client keeps trying, one line per try, until Slack answers
    else:
        handler.client.wss_uri = opened["url"]
    return handler


async def open_metrics_port(metrics: Metrics, settings: Settings) -> web.AppRunner | None:
    """Socket Mode's /metrics on DIALER_METRICS_PORT when set; one line if it can't be used."""
    host, port = settings.metrics_host, settings.metrics_port
    if port is None:
        return None
    if not settings.socket_mode:
        log.info("DIALER_METRICS_PORT is for Socket Mode: HTTP mode serves /metrics on PORT")
        return None
    try:
        runner = await serve_metrics(metrics, host, port)
    except OSError as error:
        raise StartupError(
            f"DIALER_METRICS_PORT {port} cannot be used on {host} ({error.strerror or error}): "
            "pick another port or stop what is using it."
        ) from None
    log.info("metrics: GET http://%s:%d%s", host, port, METRICS_PATH)
    return runner


async def finish_in_flight(service: DialService, keep: set[asyncio.Task], timeout: float) -> None:
    """Let every listener still running finish (calls in flight, their replies), up to timeout.

    Bolt runs each listener as its own task after the ack, so a call being placed, a reply
    being posted or a shortcut about to dial all live in tasks of their own: wait for them all.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await service.drain(timeout)
    current = asyncio.current_task()
    while True:
        pending = {task for task in asyncio.all_tasks() if task is not current}
        pending -= keep
        remaining = deadline - loop.time()
        if not pending:
            return
        if remaining <= 0:
            log.warning("stopping with %d task(s) unfinished after %gs", len(pending), timeout)
            return
        await asyncio.wait(pending, timeout=remaining)


def warn_if_key_travels_in_clear(base_url: str) -> None:
    """Plain http to another host sends the API key unencrypted: say so at start-up."""
    parts = urlsplit(base_url)
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "WEBFONES_BASE_URL uses plain http to %s: the API key crosses the network "
            "unencrypted; use https unless that network is trusted",
            parts.hostname,
        )


async def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then let calls in flight finish and be answered."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    db = StoreRunner(open_store(settings))
    dialer = WebFonesClient(
        settings.webfones_base_url,
        settings.webfones_api_key,
        total_timeout=float(settings.webfones_timeout),
        connect_timeout=min(5.0, float(settings.webfones_timeout)),
    )
    warn_if_key_travels_in_clear(settings.webfones_base_url)
    metrics = Metrics()
    metrics.watch_pbx_budget(db.store, settings.pbx_rate)
    service = DialService(settings, db, dialer, metrics=metrics)
    app = create_app(service)
    backoff = settings.slack_retry
    learner = await learn_identity(app.identity, backoff)
    pruner = asyncio.create_task(prune_forever(db, settings.log_days))
    keeper = asyncio.create_task(lease.keep(db))  # heartbeats until the last call is done
    # A call sent just before the signal may take the whole PBX timeout to be answered.
    drain_seconds = max(DRAIN_SECONDS, settings.webfones_timeout + 5.0)

    metrics_runner = await open_metrics_port(metrics, settings)
    if settings.socket_mode:
        assert settings.slack_app_token is not None
        handler = await open_socket_mode(app, settings.slack_app_token, backoff)
        connecting = asyncio.ensure_future(handler.connect_async())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            connecting.result()
            log.info("ready: Socket Mode")
            await stopping
        else:  # stopped while Slack could not be reached: give up connecting
            connecting.cancel()
        log.info("stopping: no new envelopes; finishing calls in flight")
        await handler.stop_intake()
    else:
        try:
            web_app = create_web_app(app, db, metrics, settings.slack_signing_secret or "")
            runner = await serve_http(web_app, settings.port)
        except OSError as error:
            raise StartupError(
                f"PORT {settings.port} cannot be used ({error.strerror or error}): "
                "pick another port or stop what is using it."
            ) from None
        log.info("ready: HTTP on 0.0.0.0:%d, Slack requests at POST %s", settings.port, EVENTS_PATH)
        await stop.wait()
        log.info("stopping: no new requests; finishing calls in flight")
        # Stops listening, closes idle connections and waits for requests being acked.
        await runner.cleanup()
    background = {pruner, keeper} if learner is None else {pruner, keeper, learner}
    await finish_in_flight(service, background, drain_seconds)
    for task in background - {keeper}:
        task.cancel()
    await lease.leave(db, keeper)
    if metrics_runner is not None:
        await metrics_runner.cleanup()
    await dialer.aclose()
    db.close()
    log.info("stopped")


#: Read once into Settings, then dropped from the environment so no library or child
#: process picks them up (Bolt would otherwise also read SLACK_BOT_TOKEN on its own).
SECRET_VARIABLES = SECRET_NAMES


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m bot [COMMAND | --version]`: exit 2, one line, on bad settings."""
    load_dotenv(os.environ.get("DIALER_ENV_FILE", ".env"))
    args = sys.argv[1:] if argv is None else argv
    if args:  # an operator command (check, links …, --help); argparse explains a wrong one
        return cli.main(args, prog=cli.invoked_as(sys.argv[0]))
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        print(f"webfones-dialer: {error}", file=sys.stderr)
        return 2
    for name in SECRET_VARIABLES:
        os.environ.pop(name, None)
    logs.configure(settings.secrets, settings.log_level, settings.log_format)
    try:
        asyncio.run(run(settings))
    except StartupError as error:
        print(f"webfones-dialer: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
