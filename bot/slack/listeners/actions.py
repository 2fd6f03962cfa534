"""Buttons: the number chosen from a message with several numbers."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services.dialing import CallRequest, DialService, Surface
from bot.slack.listeners.respond import ResponseUrlReplies

CHOICE = re.compile(r"^dial_choice(_\d+)?$")


def register(app: AsyncApp, service: DialService) -> None:
    """Attach the choice buttons."""

    async def handle_dial_choice(
        ack: AsyncAck, respond: AsyncRespond, body: dict, action: dict
    ) -> None:
        await ack()
        # The button's value is re-read and re-checked: a payload is never trusted as dialable.
        request = CallRequest(body["user"]["id"], action.get("value") or "", Surface.CHOICE)
        await service.dial(request, ResponseUrlReplies(respond, replace=True))

    app.action(CHOICE)(handle_dial_choice)
