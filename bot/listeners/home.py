"""App Home: the tab itself and its Redial buttons."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import views
from bot.calls import DialService, Refused
from bot.home import HomePublisher


def register(app: AsyncApp, service: DialService, home: HomePublisher) -> None:
    """Attach app_home_opened and the Redial button."""

    async def handle_home_opened(event: dict) -> None:
        if event.get("tab", "home") == "home":
            await home.opened(event["user"])

    async def handle_redial(ack: AsyncAck, body: dict, action: dict) -> None:
        await ack()
        user_id = body["user"]["id"]
        target = await service.resolve(user_id, action.get("value") or "", "home")
        if isinstance(target, Refused):
            await home.publish(user_id, banner=target.text)
            return
        started = await service.begin(user_id, target, "home")
        if isinstance(started, Refused):
            await home.publish(user_id, banner=started.text)
            return
        await home.publish(user_id, banner=started.announcement)
        await service.finish(started)

    app.event("app_home_opened")(handle_home_opened)
    app.action(views.REDIAL)(handle_redial)
