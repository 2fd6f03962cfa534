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
from urllib.parse import urlsplit

from aiohttp import web

from bot import wiring
from bot.config import Settings, token_refused
from bot.metrics import METRICS_PATH, Metrics, serve_metrics
from bot.runtime import lease
from bot.services.dialing import DialService
from bot.slack import http_server
from bot.slack.connections import connection_cap, open_files_limit
from bot.slack.http_server import EVENTS_PATH, CannotListen, serve_http
from bot.slack.identity import TokenRefused, learn_identity
from bot.slack.socket_client import open_socket_mode
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


async def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then let calls in flight finish and be answered."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        built = wiring.build(settings)
        lease.join(built.store)  # settles only the calls of processes that are gone
    except StoreError as error:
        raise StartupError(f"DIALER_DB {settings.db_path!r} cannot be opened: {error}.") from None
    db, app, metrics = built.db, built.app, built.metrics
    warn_if_key_travels_in_clear(settings.webfones_base_url)
    backoff = settings.slack_retry
    try:
        learner = await learn_identity(built.identity, backoff)
    except TokenRefused as refused:
        raise StartupError(token_refused("SLACK_BOT_TOKEN", str(refused))) from None
    pruner = asyncio.create_task(prune_forever(db, settings.log_days))
    keeper = asyncio.create_task(lease.keep(db))  # heartbeats until the last call is done
    # A call sent just before the signal may take the whole PBX timeout to be answered.
    drain_seconds = max(DRAIN_SECONDS, settings.webfones_timeout + 5.0)

    metrics_runner = await open_metrics_port(metrics, settings)
    if settings.socket_mode:
        assert settings.slack_app_token is not None
        try:
            handler = await open_socket_mode(app, settings.slack_app_token, backoff)
        except TokenRefused as refused:
            raise StartupError(token_refused("SLACK_APP_TOKEN", str(refused))) from None
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
        runner = await open_http(built, settings)
        await stop.wait()
        log.info("stopping: no new requests; finishing calls in flight")
        # Stops listening, closes idle connections and waits for requests being acked.
        await runner.cleanup()
    background = {pruner, keeper} if learner is None else {pruner, keeper, learner}
    await finish_in_flight(built.dialing, background, drain_seconds)
    for task in background - {keeper}:
        task.cancel()
    await lease.leave(db, keeper)
    if metrics_runner is not None:
        await metrics_runner.cleanup()
    await built.aclose()
    log.info("stopped")
