"""HTTP mode on aiohttp: POST /slack/events for Slack, GET /healthz and GET /metrics."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.metrics import METRICS_PATH, Metrics
from bot.store_runner import StoreRunner

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024


def create_web_app(app: AsyncApp, db: StoreRunner, metrics: Metrics) -> web.Application:
    """An aiohttp application that hands Slack's requests to Bolt, reports health and metrics."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        try:
            result = await db.run_in_pool(db.store.check)
        except Exception as error:
            log.warning("health check failed: %s", type(error).__name__)
            return web.json_response({"ok": False, "database": "unavailable"}, status=503)
        healthy = result == "ok"
        return web.json_response(
            {"ok": healthy, "database": result}, status=200 if healthy else 503
        )

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.add_routes([web.post(EVENTS_PATH, slack_events), web.get("/healthz", healthz)])
    web_app.add_routes([web.get(METRICS_PATH, metrics.handle_scrape)])
    return web_app


async def serve_http(web_app: web.Application, port: int) -> web.AppRunner:
    """Start listening on 0.0.0.0:port; answer the runner so the caller can stop it."""
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host="0.0.0.0", port=port, backlog=1024, reuse_address=True)
    await site.start()
    return runner
