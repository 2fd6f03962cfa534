"""create_app: the Bolt app with every listener attached; no module-level singletons."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.admins import AdminDirectory
from bot.calls import DialService
from bot.listeners import actions, dial, dial_link, shortcut

log = logging.getLogger(__name__)


def create_app(service: DialService) -> AsyncApp:
    """Build the Bolt app that serves /dial, /dial-link, the shortcut and the choice buttons."""
    settings = service.settings
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    admins = AdminDirectory(settings.admins, client)

    @app.error
    async def log_unhandled(error: Exception) -> None:
        log.error("unhandled error in a listener: %s", type(error).__name__, exc_info=error)

    dial.register(app, service)
    shortcut.register(app, service)
    actions.register(app, service)
    dial_link.register(app, settings, service.db, admins)
    return app
