"""The process around the app: serve until SIGTERM, keep the lease, prune, then drain.

`run(settings)` builds everything through bot.wiring, joins the database's processes (so a
rolling deploy's other process keeps its calls), serves Slack over HTTP or Socket Mode, and on
SIGTERM or SIGINT stops taking requests, lets calls in flight finish and be answered, and leaves.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot import wiring
from bot.config import Settings, token_refused
from bot.domain.backoff import Backoff
from bot.metrics import METRICS_PATH, Metrics, serve_metrics
from bot.runtime import lease
from bot.services.dialing import DialService
from bot.slack import http_server
from bot.slack.connections import connection_cap, open_files_limit
from bot.slack.http_server import EVENTS_PATH, CannotListen, serve_http
from bot.slack.identity import TokenRefused, learn_identity
from bot.slack.profiles import FieldProblem, FieldTrouble
from bot.slack.socket_client import SocketModeIntake, open_socket_mode
from bot.store import StoreError
from bot.store.runner import StoreRunner

log = logging.getLogger("bot")

DRAIN_SECONDS = 20.0
PRUNE_EVERY_SECONDS = 3600.0


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line the operator sees."""


async def prune_forever(db: StoreRunner, days: int) -> None:
    """Keep the audit log to DIALER_LOG_DAYS, checking hourly."""
    while True:
        try:
            removed = await db.run_in_pool(db.store.calls.prune, days)
            if removed:
                log.info("pruned %d call log rows older than %d days", removed, days)
        except Exception as error:
            log.warning("could not prune the call log: %s", type(error).__name__)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)


async def open_metrics_port(metrics: Metrics, settings: Settings) -> web.AppRunner | None:
    """Socket Mode's /metrics on DIALER_METRICS_PORT when set; one line if it can't be used."""
    host, port = settings.metrics_host, settings.metrics_port
    if port is None or not settings.socket_mode:  # HTTP mode serves it with /healthz
        return None
    try:
        runner = await serve_metrics(metrics, host, port)
    except OSError as error:
        reason = os.strerror(error.errno).lower() if error.errno else str(error)
        raise StartupError(
            f"DIALER_METRICS_PORT {port} cannot be used on {host} ({reason}): "
            "pick another port or stop what is using it."
        ) from None
    log.info("metrics: GET http://%s:%d%s", host, port, METRICS_PATH)
    return runner


async def open_http(built: wiring.Components, settings: Settings) -> web.AppRunner:
    """HTTP mode's listeners: Slack on PORT, /healthz and /metrics there or on their own port."""
    where = http_server.listeners(
        settings.http_host, settings.port, settings.metrics_host, settings.metrics_port
    )
    files = open_files_limit()
    cap = connection_cap(settings.max_connections, files)
    if settings.max_connections and cap < settings.max_connections:
        log.warning(
            "DIALER_MAX_CONNECTIONS is %d, but the open-files limit (%s) leaves room for %d: "
            "keeping at most %d open; raise the limit (ulimit -n, LimitNOFILE=) for more",
            settings.max_connections,
            files,
            cap,
            cap,
        )
    try:
        runner = await serve_http(built.web_app(), where, cap=cap)
    except CannotListen as failed:
        raise StartupError(
            f"{failed.listener.setting} {failed.listener.port} cannot be used on "
            f"{failed.listener.host} ({failed.reason}): pick another port or stop what is "
            "using it."
        ) from None
    slack, *operator = where
    log.info("ready: HTTP on %s, Slack requests at POST %s", slack.address, EVENTS_PATH)
    for listener in operator:
        log.info(
            "metrics: GET http://%s%s, health: GET http://%s%s",
            listener.address,
            METRICS_PATH,
            listener.address,
            http_server.HEALTH_PATH,
        )
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


async def check_extension_field(built: wiring.Components) -> None:
    """DIALER_EXTENSION_FIELD must name a field people can't edit; StartupError when not.

    Slack out of reach is only a warning: the field is looked up again when first needed.
    """
    if built.profiles is None:
        return
    found = await built.profiles.field()
    if isinstance(found, FieldProblem):
        if found.trouble == FieldTrouble.UNREACHABLE:
            log.warning("%s", found.line())
            return
        raise StartupError(found.line())
    log.info("linking people from the directory's %r field (%s)", found.label, found.id)


@dataclass
class Serving:
    """What `start` set going around the built app, for `stop` to wind down."""

    built: wiring.Components
    keeper: asyncio.Task[None]
    background: set[asyncio.Task] = field(default_factory=set)
    metrics_runner: web.AppRunner | None = None
    #: Socket Mode's intake, connected by the caller; None in HTTP mode.
    intake: SocketModeIntake | None = None
    #: Tasks running once start-up was done, before any request: the store's pool workers,
    #: the intake's connection, the metrics port. A drain waits for requests' work, not these.
    standing: set[asyncio.Task] = field(default_factory=set)


def open_database(settings: Settings, **swaps: Any) -> wiring.Components:
    """Build everything (bot.wiring) and join the database's processes; StartupError if not.

    SQLite is joined here; PostgreSQL's pool can only be opened in the event loop, so `start`
    opens it and joins.
    """
    try:
        built = wiring.build(settings, **swaps)
        if not built.store.asynchronous:
            lease.join(built.store)  # type: ignore[arg-type]  # settles only the gone's calls
    except StoreError as error:
        raise StartupError(cannot_open(settings, error)) from None
    return built


def cannot_open(settings: Settings, error: StoreError) -> str:
    """The start-up line for a store that can't be opened, naming it (never the password)."""
    if settings.database_url:
        return f"{error}."  # the store's words name DIALER_DATABASE_URL without the password
    return f"DIALER_DB {settings.db_path!r} cannot be opened: {error}."


async def open_shared(built: wiring.Components) -> None:
    """PostgreSQL: open the pool (migrating under a lock) and join the replicas' processes."""
    if not built.store.asynchronous:
        return
    try:
        await built.store.open()
        await lease.join_shared(built.db)
    except StoreError as error:
        await built.aclose()
        raise StartupError(cannot_open(built.settings, error)) from None


async def start(built: wiring.Components, backoff: Backoff) -> Serving:
    """Learn who the bot is, start the heartbeat and pruning, the metrics port, the intake."""
    settings = built.settings
    await open_shared(built)
    try:
        learner = await learn_identity(built.identity, backoff)
    except TokenRefused as refused:
        raise StartupError(token_refused("SLACK_BOT_TOKEN", str(refused))) from None
    await check_extension_field(built)
    keeper = asyncio.create_task(lease.keep(built.db))  # heartbeats until the last call is done
    serving = Serving(built, keeper)
    serving.background.add(asyncio.create_task(prune_forever(built.db, settings.log_days)))
    if learner is not None:
        serving.background.add(learner)
    try:
        serving.metrics_runner = await open_metrics_port(built.metrics, settings)
        if settings.socket_mode:
            assert settings.slack_app_token is not None
            try:
                token = settings.slack_app_token
                serving.intake = await open_socket_mode(built.app, token, backoff)
            except TokenRefused as refused:
                raise StartupError(token_refused("SLACK_APP_TOKEN", str(refused))) from None
    except BaseException:
        await stop(serving, drain_seconds=None)
        raise
    serving.standing = asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]
    return serving


async def stop(serving: Serving, drain_seconds: float | None) -> None:
    """Let calls in flight finish and be answered (None: the caller did), leave and close."""
    built = serving.built
    if drain_seconds is not None:
        keep = {serving.keeper, *serving.background, *serving.standing}
        await finish_in_flight(built.dialing, keep, drain_seconds)
    for task in serving.background:
        task.cancel()
    await lease.leave(built.db, serving.keeper)
    if serving.metrics_runner is not None:
        await serving.metrics_runner.cleanup()
    await built.aclose()


async def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then let calls in flight finish and be answered."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    built = open_database(settings)
    warn_if_key_travels_in_clear(settings.webfones_base_url)
    serving = await start(built, settings.slack_retry)
    # A call sent just before the signal may take the whole PBX timeout to be answered.
    drain_seconds = max(DRAIN_SECONDS, settings.webfones_timeout + 5.0)
    if serving.intake is not None:
        await serve_socket_mode(serving.intake, stopping)
    else:
        await serve_http_until(built, stopping)
    await stop(serving, drain_seconds)
    log.info("stopped")


async def serve_socket_mode(intake: SocketModeIntake, stopping: asyncio.Event) -> None:
    """Connect (retrying while Slack is away) and take envelopes until told to stop."""
    connecting = asyncio.ensure_future(intake.connect_async())
    told = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({connecting, told}, return_when=asyncio.FIRST_COMPLETED)
    if connecting.done():
        connecting.result()
        log.info("ready: Socket Mode")
        await told
    else:  # stopped while Slack could not be reached: give up connecting
        connecting.cancel()
    log.info("stopping: no new envelopes; finishing calls in flight")
    await intake.stop_intake()


async def serve_http_until(built: wiring.Components, stopping: asyncio.Event) -> None:
    """Listen on PORT (and the metrics port, when set) and serve until told to stop."""
    runner = await open_http(built, built.settings)
    await stopping.wait()
    log.info("stopping: no new requests; finishing calls in flight")
    # Stops listening, closes idle connections and waits for requests being acked.
    await runner.cleanup()
