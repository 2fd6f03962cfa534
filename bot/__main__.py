"""Start-up: load .env and settings, open the database and the PBX client, pick the mode."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys

from dotenv import load_dotenv
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot import logs
from bot.app import create_app
from bot.calls import Database, DialService
from bot.config import Settings, SettingsError, load_settings
from bot.dialer import WebFonesClient
from bot.http_server import EVENTS_PATH, create_web_app, serve_http
from bot.store import Store

log = logging.getLogger("bot")

DRAIN_SECONDS = 20.0
PRUNE_EVERY_SECONDS = 3600.0


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line the operator sees."""


def open_store(settings: Settings) -> Store:
    """Open (and migrate) the SQLite file, or explain in one line why not."""
    try:
        return Store(settings.db_path)
    except sqlite3.Error as error:
        raise StartupError(f"DIALER_DB {settings.db_path!r} cannot be opened: {error}.") from None


async def verify_slack_token(app_client, settings: Settings) -> None:
    """Fail fast on a bot token Slack refuses; carry on (with a warning) if Slack is unreachable."""
    try:
        auth = await app_client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "refused")
        raise StartupError(f"SLACK_BOT_TOKEN was refused by Slack ({code}).") from None
    except Exception as error:
        log.warning("could not reach Slack to check the token yet: %s", type(error).__name__)
        return
    log.info("connected to Slack workspace %s as %s", auth.get("team"), auth.get("user"))


async def prune_forever(db: Database, days: int) -> None:
    """Keep the audit log to DIALER_LOG_DAYS, checking hourly."""
    while True:
        try:
            removed = await db.run(db.store.prune_calls, days)
            if removed:
                log.info("pruned %d call log rows older than %d days", removed, days)
        except Exception as error:
            log.warning("could not prune the call log: %s", type(error).__name__)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)


async def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then let calls in flight finish and be answered."""
    db = Database(open_store(settings))
    dialer = WebFonesClient(
        settings.webfones_base_url,
        settings.webfones_api_key,
        total_timeout=float(settings.webfones_timeout),
        connect_timeout=min(5.0, float(settings.webfones_timeout)),
    )
    service = DialService(settings, db, dialer)
    app = create_app(service)
    await verify_slack_token(app.client, settings)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pruner = asyncio.create_task(prune_forever(db, settings.log_days))

    if settings.socket_mode:
        handler = AsyncSocketModeHandler(app, settings.slack_app_token)
        await handler.connect_async()
        log.info("ready: Socket Mode")
        await stop.wait()
        log.info("stopping: finishing calls in flight")
        await service.drain(DRAIN_SECONDS)
        await handler.close_async()
    else:
        runner = await serve_http(create_web_app(app, db), settings.port)
        log.info("ready: HTTP on 0.0.0.0:%d, Slack requests at POST %s", settings.port, EVENTS_PATH)
        await stop.wait()
        log.info("stopping: no new requests; finishing calls in flight")
        for site in list(runner.sites):
            await site.stop()
        await service.drain(DRAIN_SECONDS)
        await runner.cleanup()
    pruner.cancel()
    await dialer.aclose()
    db.close()
    log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m bot`: exit 2 with one line when a setting is wrong."""
    load_dotenv(os.environ.get("DIALER_ENV_FILE", ".env"))
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        print(f"webfones-dialer: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.secrets)
    try:
        asyncio.run(run(settings))
    except StartupError as error:
        print(f"webfones-dialer: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
