"""create_app: the Bolt app with every listener attached; no module-level singletons."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import replays
from bot.admins import AdminDirectory
from bot.home import HomePublisher
from bot.listeners import actions, dial, dial_link, home, link_requests, modal, shortcut
from bot.service import ACK_SENT, DialService

log = logging.getLogger(__name__)


class DialerApp(AsyncApp):
    """Bolt's AsyncApp that tells calls when their request's ack is on its way (ACK_SENT)."""

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        """Dispatch as Bolt does; listeners started here see ACK_SENT done once it returns."""
        if self.process_before_response:  # the listener runs inside the dispatch: never wait
            return await super().async_dispatch(req)
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        token = ACK_SENT.set(sent)
        try:
            return await super().async_dispatch(req)
        finally:
            ACK_SENT.reset(token)
            if not sent.done():
                sent.set_result(None)


def create_app(service: DialService) -> AsyncApp:
    """Build the Bolt app: commands, shortcuts, buttons, modals and the Home tab."""
    settings = service.settings
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    app = DialerApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    replays.register(app, service.db)  # after Bolt's signature check, before every listener
    admins = AdminDirectory(settings.admins, client)
    home_tab = HomePublisher(client, service.db, admins)
    service.after_call = home_tab.call_finished

    @app.error
    async def log_unhandled(error: Exception) -> None:
        log.error("unhandled error in a listener: %s", type(error).__name__, exc_info=error)

    dial.register(app, service)
    shortcut.register(app, service)
    actions.register(app, service)
    modal.register(app, service)
    home.register(app, service, home_tab)
    dial_link.register(app, settings, service.db, admins)
    link_requests.register(app, settings, service.db, admins, home_tab)
    return app
