"""The message shortcut `dial_from_message`: dial the number in a message, or offer a choice."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import messages, numbers
from bot.calls import DialService, Refused
from bot.listeners.dial import reply

MAX_CHOICES = 10


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
            refused = await service.refuse(
                user_id, None, "shortcut", "refused_no_number", messages.no_number_in_message()
            )
            await reply(respond, refused.text)
            return
        if len(found) > 1:
            choices = [(n.display, n.e164) for n in found[:MAX_CHOICES]]
            text = "That message has several numbers. Which one?"
            await reply(respond, text, blocks=messages.choose_number(choices))
            return
        await dial_and_reply(service, respond, user_id, found[0].e164, "shortcut")

    app.shortcut("dial_from_message")(handle_dial_from_message)


async def dial_and_reply(
    service: DialService,
    respond: AsyncRespond,
    user_id: str,
    text: str,
    surface: str,
    *,
    replace: bool = False,
) -> None:
    """Resolve, gate and place one call, answering through response_url at each step."""
    target = await service.resolve(user_id, text, surface)
    if isinstance(target, Refused):
        await reply(respond, target.text, replace=replace, blocks=target.blocks)
        return
    started = await service.begin(user_id, target, surface)
    if isinstance(started, Refused):
        await reply(respond, started.text, replace=replace, blocks=started.blocks)
        return
    await reply(respond, started.announcement, replace=replace)
    await reply(respond, await service.finish(started), replace=replace)
