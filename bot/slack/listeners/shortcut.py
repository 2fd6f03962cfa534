"""The message shortcut `dial_from_message`: dial the number in a message, or offer a choice."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services.dialing import CallRequest, DialService, Offer, Surface
from bot.slack import messages
from bot.slack.listeners.respond import ResponseUrlReplies, reply


def register(app: AsyncApp, service: DialService) -> None:
    """Attach the message shortcut."""

    async def handle_dial_from_message(
        ack: AsyncAck, respond: AsyncRespond, shortcut: dict
    ) -> None:
        await ack()
        text = (shortcut.get("message") or {}).get("text") or ""
        request = CallRequest(shortcut["user"]["id"], text, Surface.SHORTCUT)
        result = await service.dial_from_message(request, ResponseUrlReplies(respond))
        if isinstance(result, Offer):
            choices = [(number.display, number.e164) for number in result.dialable]
            blocks = messages.choose_number(choices, result.left_out)
            await reply(respond, messages.several_numbers(result.left_out), blocks=blocks)

    app.shortcut("dial_from_message")(handle_dial_from_message)
