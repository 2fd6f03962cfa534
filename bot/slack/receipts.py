"""A placed call's receipt in Block Kit: the call, "did it ring?", and what the caller said.

The same receipt is the final reply on every surface where the caller reads one (a message
through response_url, the modal, the workflow step's DM); a tap redraws it in place from the
call's audit row. Pure functions, like bot.slack.views.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.domain.answers import CallerAnswer, read_answer
from bot.services.dialing import Answer
from bot.slack import views
from bot.slack.text import receipts as receipt_text
from bot.store import CallRecord

#: The modal's title, as the dial modal's.
MODAL_TITLE = "Dial a number"


@dataclass(frozen=True)
class ReceiptCall:
    """What a receipt shows about one placed call, and the caller's answer once given."""

    call_id: int
    destination: str | None
    extension: str
    at: float
    answer: CallerAnswer | None = None

    @classmethod
    def of_answer(cls, answer: Answer) -> ReceiptCall | None:
        """The receipt of the dialing service's final answer; None unless the call was placed."""
        if not answer.placed or answer.call_id is None:
            return None
        return cls(answer.call_id, answer.destination, answer.facts.extension, time.time())

    @classmethod
    def of_record(cls, record: CallRecord) -> ReceiptCall:
        """The receipt of a call's audit row, as it now stands."""
        return cls(
            record.id,
            record.destination,
            record.extension or "",
            record.at,
            read_answer(record.answer or ""),
        )

    @property
    def number(self) -> str:
        """The number (or extension) dialed, as people read it."""
        return views.destination_label(self.destination)


def headline(call: ReceiptCall, placed_words: str = "") -> str:
    """The receipt's first line: the call's outcome until answered, then what was noted."""
    if call.answer is None:
        return placed_words
    return receipt_text.noted(call.answer, call.extension)


def receipt_blocks(call: ReceiptCall, first_line: str, note: str = "") -> list[dict[str, Any]]:
    """The receipt: the first line, the call's details, and the answers (or what was said)."""
    blocks: list[dict[str, Any]] = [
        _section(first_line),
        _context(receipt_text.details(call.number, call.extension, views.when(call.at))),
    ]
    if note:
        blocks.append(_section(note))
    if call.answer is None:
        blocks += [_context(receipt_text.QUESTION), views.answer_buttons(call.call_id)]
        return blocks
    if call.answer == CallerAnswer.DIDNT_RING:
        blocks.append(views.tell_admin_button(call.call_id))
    blocks += [_context(receipt_text.CHANGE_HINT), views.answer_buttons(call.call_id, call.answer)]
    return blocks


def receipt_modal(call: ReceiptCall, first_line: str, note: str = "") -> dict[str, Any]:
    """The dial modal's last view: the receipt."""
    return {
        "type": "modal",
        "callback_id": "dial_result",
        "title": {"type": "plain_text", "text": MODAL_TITLE},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": receipt_blocks(call, first_line, note),
    }


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
