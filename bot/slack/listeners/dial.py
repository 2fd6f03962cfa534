"""`/dial NUMBER`: ack at once with 'Calling…' (or why not), then reply with how it went."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services.dialing import Answer, CallRequest, DialService, Surface
from bot.slack import messages
from bot.slack.listeners.respond import reply


class SlashReplies:
    """A refusal or the 'Calling…' line is the ack itself; the outcome goes to response_url."""

    def __init__(self, ack: AsyncAck, respond: AsyncRespond) -> None:
        self._ack = ack
        self._respond = respond

    async def refused(self, answer: Answer) -> None:
        """Ack with why nothing was dialed."""
        await self._ack(text=answer.text, blocks=answer.blocks, response_type="ephemeral")

    async def calling(self, answer: Answer) -> None:
        """Ack with the 'Calling…' line."""
        await self._ack(text=answer.text, response_type="ephemeral")

    async def finished(self, answer: Answer) -> None:
        """Post the outcome through response_url."""
        await reply(self._respond, answer.text)


def register(app: AsyncApp, service: DialService) -> None:
    """Attach the /dial command."""

    async def handle_dial(ack: AsyncAck, respond: AsyncRespond, command: dict) -> None:
        text = (command.get("text") or "").strip()
        if not text or text.lower() in ("help", "?"):
            await ack(text=messages.DIAL_USAGE, response_type="ephemeral")
            return
        request = CallRequest(command["user_id"], text, Surface.SLASH)
        await service.dial(request, SlashReplies(ack, respond))

    app.command("/dial")(handle_dial)
