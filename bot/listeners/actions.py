"""Buttons: the number chosen from a message with several numbers."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.calls import DialService
from bot.listeners.shortcut import dial_and_reply

CHOICE = re.compile(r"^dial_choice(_\d+)?$")


def register(app: AsyncApp, service: DialService) -> None:
    """Attach the choice buttons."""

    async def handle_dial_choice(
        ack: AsyncAck, respond: AsyncRespond, body: dict, action: dict
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        # The button's value is re-read and re-checked: a payload is never trusted as dialable.
        await dial_and_reply(
            service, respond, user_id, action.get("value") or "", "choice", replace=True
        )

    app.action(CHOICE)(handle_dial_choice)
