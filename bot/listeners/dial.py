"""`/dial NUMBER`: ack at once with 'Calling…', then reply with how the call went."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import messages
from bot.calls import DialService, Refused

log = logging.getLogger(__name__)


def register(app: AsyncApp, service: DialService) -> None:
    """Attach the /dial command."""

    async def handle_dial(ack: AsyncAck, respond: AsyncRespond, command: dict) -> None:
        text = (command.get("text") or "").strip()
        user_id = command["user_id"]
        if not text or text.lower() in ("help", "?"):
            await ack(text=messages.DIAL_USAGE, response_type="ephemeral")
            return
        target = await service.resolve(user_id, text, "slash")
        if isinstance(target, Refused):
            await ack(text=target.text, blocks=target.blocks, response_type="ephemeral")
            return
        started = await service.begin(user_id, target, "slash")
        if isinstance(started, Refused):
            await ack(text=started.text, blocks=started.blocks, response_type="ephemeral")
            return
        await ack(text=started.announcement, response_type="ephemeral")
        outcome = await service.finish(started)
        await reply(respond, outcome)

    app.command("/dial")(handle_dial)


async def reply(
    respond: AsyncRespond,
    text: str,
    *,
    replace: bool = False,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """Send an ephemeral follow-up through response_url; log, never raise, if Slack refuses."""
    try:
        sent = await respond(
            text=text, blocks=blocks, response_type="ephemeral", replace_original=replace
        )
    except Exception as error:
        log.warning("could not deliver a reply through response_url: %s", type(error).__name__)
        return
    if sent.status_code != 200:  # respond() does not raise when Slack refuses the post
        log.warning(
            "could not deliver a reply through response_url: Slack answered %d", sent.status_code
        )
