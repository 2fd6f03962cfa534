"""The message shortcut `dial_from_message`: dial the number in a message, or offer a choice."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import messages, numbers
from bot.listeners.respond import ResponseUrlReplies, reply
from bot.outcomes import Outcome
from bot.service import CallRequest, DialService, Surface


def register(app: AsyncApp, service: DialService) -> None:
    """Attach the message shortcut."""

    async def handle_dial_from_message(
        ack: AsyncAck, respond: AsyncRespond, shortcut: dict
    ) -> None:
        await ack()
        user_id = shortcut["user"]["id"]
        text = (shortcut.get("message") or {}).get("text") or ""
        found = numbers.find_numbers(text, service.settings.default_region)
        if not found:
            request = CallRequest(user_id, "", Surface.SHORTCUT)
            refused = await service.refuse(request, Outcome.REFUSED_NO_NUMBER)
            await reply(respond, refused.text)
            return
        offer = service.offer_from_message(text)
        if len(found) == 1 or not offer.dialable:  # one number, or none dialable: say why
            request = CallRequest(user_id, found[0].e164, Surface.SHORTCUT)
            await service.dial(request, ResponseUrlReplies(respond))
            return
        choices = [(number.display, number.e164) for number in offer.dialable]
        blocks = messages.choose_number(choices, offer.left_out)
        await reply(respond, messages.several_numbers(offer.left_out), blocks=blocks)

    app.shortcut("dial_from_message")(handle_dial_from_message)
