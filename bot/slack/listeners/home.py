"""App Home: the tab itself and its Redial buttons."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.services.dialing import Answer, CallRequest, DialService, Surface
from bot.slack import views
from bot.slack.home import HomePublisher


class HomeReplies:
    """Each answer is the banner of the user's Home tab (the outcome comes via after_call)."""

    def __init__(self, home: HomePublisher, user_id: str) -> None:
        self._home = home
        self._user_id = user_id

    async def refused(self, answer: Answer) -> None:
        """Show why on Home."""
        await self._home.publish(self._user_id, banner=answer.text)

    async def calling(self, answer: Answer) -> None:
        """Show 'Calling…' on Home."""
        await self._home.publish(self._user_id, banner=answer.text)

    async def finished(self, answer: Answer) -> None:
        """Nothing more: HomePublisher.call_finished refreshes Home with the outcome."""


def register(app: AsyncApp, service: DialService, home: HomePublisher) -> None:
    """Attach app_home_opened and the Redial button."""

    async def handle_home_opened(event: dict) -> None:
        if event.get("tab", "home") == "home":
            await home.opened(event["user"])

    async def handle_redial(ack: AsyncAck, body: dict, action: dict) -> None:
        await ack()
        user_id = body["user"]["id"]
        request = CallRequest(user_id, action.get("value") or "", Surface.HOME)
        await service.dial(request, HomeReplies(home, user_id))

    app.event("app_home_opened")(handle_home_opened)
    app.action(views.REDIAL)(handle_redial)
