"""The message shortcut `dial_from_message`: dial the number in a message, or offer a choice."""

from __future__ import annotations

from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services.dialing import CallRequest, Offer, Surface
from bot.slack import views
from bot.slack.deps import Deps
from bot.slack.replies import ResponseUrlReplies, reply
from bot.slack.text import callers


async def handle_dial_from_message(
    ack: AsyncAck, respond: AsyncRespond, shortcut: dict, *, deps: Deps
) -> None:
    """Dial the message's one number, or offer a button per dialable number."""
    await ack()
    text = (shortcut.get("message") or {}).get("text") or ""
    request = CallRequest(shortcut["user"]["id"], text, Surface.SHORTCUT)
    result = await deps.dialing.dial_from_message(request, ResponseUrlReplies(respond))
    if isinstance(result, Offer):
        choices = [(number.display, number.e164) for number in result.dialable]
        blocks = views.choose_number(choices, result.left_out)
        await reply(respond, callers.several_numbers(result.left_out), blocks=blocks)


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the message shortcut."""
    app.shortcut("dial_from_message")(partial(handle_dial_from_message, deps=deps))
