"""Replies through a payload's response_url: ephemeral, logged (never raised) when refused."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncRespond

from bot.metrics import slack_call_failed
from bot.services.dialing import Answer

log = logging.getLogger(__name__)


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
        slack_call_failed("response_url")
        log.warning("could not deliver a reply through response_url: %s", type(error).__name__)
        return
    if sent.status_code != 200:  # respond() does not raise when Slack refuses the post
        slack_call_failed("response_url")
        log.warning(
            "could not deliver a reply through response_url: Slack answered %d", sent.status_code
        )


class ResponseUrlReplies:
    """Every answer of a dial goes through response_url (the request was acked already)."""

    def __init__(self, respond: AsyncRespond, *, replace: bool = False) -> None:
        self._respond = respond
        self._replace = replace

    async def refused(self, answer: Answer) -> None:
        """Show why nothing was dialed."""
        await reply(self._respond, answer.text, replace=self._replace, blocks=answer.blocks)

    async def calling(self, answer: Answer) -> None:
        """Show the "Calling…" line."""
        await reply(self._respond, answer.text, replace=self._replace)

    async def finished(self, answer: Answer) -> None:
        """Show how the call went."""
        await reply(self._respond, answer.text, replace=self._replace)
