"""Buttons: the number chosen from a message with several numbers."""

from __future__ import annotations

import re
from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services.dialing import CallRequest, Surface
from bot.slack.deps import Deps
from bot.slack.replies import ResponseUrlReplies

CHOICE = re.compile(r"^dial_choice(_\d+)?$")


async def handle_dial_choice(
    ack: AsyncAck, respond: AsyncRespond, body: dict, action: dict, *, deps: Deps
) -> None:
    """Dial the number on the button, replacing the choice with the call's progress."""
    await ack()
    # The button's value is re-read and re-checked: a payload is never trusted as dialable.
    request = CallRequest(body["user"]["id"], action.get("value") or "", Surface.CHOICE)
    await deps.dialing.dial(request, ResponseUrlReplies(respond, replace=True))


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the choice buttons."""
    app.action(CHOICE)(partial(handle_dial_choice, deps=deps))
