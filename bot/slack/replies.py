"""How a surface shows the dialing service's answers: their words, and response_url replies.

`words(answer)` is the one way an answer becomes text (bot.slack.text); `reply` posts through a
payload's response_url, ephemeral, logged (never raised) when Slack refuses it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.outcomes import Outcome
from bot.metrics import slack_call_failed
from bot.services.dialing import Answer
from bot.slack import text, views
from bot.slack.receipts import ReceiptCall, receipt_blocks

log = logging.getLogger(__name__)


def words(answer: Answer, *, plain: bool = False) -> str:
    """The answer's sentence: mrkdwn, or plain text where Slack shows no markup."""
    return text.sentence(answer.outcome, answer.facts, plain=plain)


def blocks_for(answer: Answer) -> list[dict[str, Any]] | None:
    """Blocks to send with the words: a refusal for an unlinked user offers a next step, and a
    placed call is a receipt that asks whether it rang."""
    if answer.outcome == Outcome.REFUSED_UNLINKED:
        return views.not_linked_blocks(words(answer))
    receipt = ReceiptCall.of_answer(answer)
    if receipt is not None:
        return receipt_blocks(receipt, words(answer))
    return None


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
        await reply(self._respond, words(answer), replace=self._replace, blocks=blocks_for(answer))

    async def calling(self, answer: Answer) -> None:
        """Show the "Calling…" line."""
        await reply(self._respond, words(answer), replace=self._replace)

    async def finished(self, answer: Answer) -> None:
        """Show how the call went (a placed call's receipt asks whether it rang)."""
        await reply(self._respond, words(answer), replace=self._replace, blocks=blocks_for(answer))


async def direct_message(
    client: AsyncWebClient, user_id: str, text: str, blocks: list[dict[str, Any]] | None = None
) -> bool:
    """DM a user from the bot; answer whether it was delivered (logged, never raised)."""
    try:
        opened = await client.conversations_open(users=user_id)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks)
    except Exception as error:
        slack_call_failed("chat.postMessage")
        log.warning("could not message %s: %s", user_id, type(error).__name__)
        return False
    return True
