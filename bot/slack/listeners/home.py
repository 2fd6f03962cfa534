"""App Home: the tab itself and its Redial buttons."""

from __future__ import annotations

from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.services.dialing import Answer, CallRequest, Surface
from bot.slack import views
from bot.slack.deps import Deps
from bot.slack.home import HomePublisher
from bot.slack.replies import words


class HomeReplies:
    """Each answer is the banner of the user's Home tab (the outcome comes via after_call)."""

    def __init__(self, home: HomePublisher, user_id: str) -> None:
        self._home = home
        self._user_id = user_id

    async def refused(self, answer: Answer) -> None:
        """Show why on Home."""
        await self._home.publish(self._user_id, banner=words(answer))

    async def calling(self, answer: Answer) -> None:
        """Show 'Calling…' on Home."""
        await self._home.publish(self._user_id, banner=words(answer))

    async def finished(self, answer: Answer) -> None:
        """Nothing more: HomePublisher.call_finished refreshes Home with the outcome."""


async def handle_home_opened(event: dict, *, deps: Deps) -> None:
    """Publish a fresh Home when the user opens its tab."""
    if event.get("tab", "home") == "home":
        await deps.home.opened(event["user"])


async def handle_redial(ack: AsyncAck, body: dict, action: dict, *, deps: Deps) -> None:
    """Redial a number from the user's recent calls."""
    await ack()
    user_id = body["user"]["id"]
    request = CallRequest(user_id, action.get("value") or "", Surface.HOME)
    await deps.dialing.dial(request, HomeReplies(deps.home, user_id))


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach app_home_opened and the Redial button."""
    app.event("app_home_opened")(partial(handle_home_opened, deps=deps))
    app.action(views.REDIAL)(partial(handle_redial, deps=deps))
