"""`/dial NUMBER`: ack at once with 'Calling…' (or why not), then reply with how it went."""

from __future__ import annotations

from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services.dialing import Answer, CallRequest, Surface
from bot.slack.deps import Deps
from bot.slack.replies import blocks_for, reply, words
from bot.slack.text import callers


class SlashReplies:
    """A refusal or the 'Calling…' line is the ack itself; the outcome goes to response_url."""

    def __init__(self, ack: AsyncAck, respond: AsyncRespond) -> None:
        self._ack = ack
        self._respond = respond

    async def refused(self, answer: Answer) -> None:
        """Ack with why nothing was dialed."""
        await self._ack(text=words(answer), blocks=blocks_for(answer), response_type="ephemeral")

    async def calling(self, answer: Answer) -> None:
        """Ack with the 'Calling…' line."""
        await self._ack(text=words(answer), response_type="ephemeral")

    async def finished(self, answer: Answer) -> None:
        """Post the outcome through response_url (a placed call's receipt asks if it rang)."""
        await reply(self._respond, words(answer), blocks=blocks_for(answer))


async def handle_dial(ack: AsyncAck, respond: AsyncRespond, command: dict, *, deps: Deps) -> None:
    """Dial what follows /dial, or show how to use it."""
    text = (command.get("text") or "").strip()
    if not text or text.lower() in ("help", "?"):
        await ack(text=callers.DIAL_USAGE, response_type="ephemeral")
        return
    request = CallRequest(command["user_id"], text, Surface.SLASH)
    await deps.dialing.dial(request, SlashReplies(ack, respond))


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the /dial command."""
    app.command("/dial")(partial(handle_dial, deps=deps))
