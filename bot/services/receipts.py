"""Call receipts: the caller says whether a placed call rang, and admins hear of phones in trouble.

The PBX only says it accepted a call; the caller is the one party who knows whether the phones
rang. A receipt's buttons carry the call's audit row id and nothing else: every tap is checked
against the row (the caller's own, a placed call) before anything is written, and the same
answer twice is one record. "Didn't ring" may be passed on to the admins (DIALER_ADMINS), each
told at most once an hour about one extension, however often it is asked. Facts, not words:
the Slack surface words each result (bot.slack.text.receipts).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from enum import StrEnum

from bot.config import Settings
from bot.domain.answers import CallerAnswer
from bot.domain.outcomes import Outcome
from bot.metrics import Metrics
from bot.store import CallRecord, StoreError
from bot.store.answers import ExtensionTrouble
from bot.store.runner import StoreRunner

log = logging.getLogger(__name__)

#: "This week" for the admins: the last 7 days.
WEEK_DAYS = 7
#: An admin hears about one extension at most once in this many seconds.
NOTICE_SECONDS = 3600.0
#: How many troubled extensions the admins' Home lists.
TOP_EXTENSIONS = 5
#: A button's value as the receipt sets it: the call's row id, nothing more.
CALL_ID = re.compile(r"[1-9][0-9]{0,17}")


class Noted(StrEnum):
    """What became of a tap on a receipt."""

    RECORDED = "recorded"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    #: The value names no call the log still keeps (pruned, or forged).
    NOT_FOUND = "not_found"
    #: Someone else's call.
    NOT_YOURS = "not_yours"
    #: A call that was refused, held or failed: there was nothing to ring.
    NOT_PLACED = "not_placed"
    #: The call log could not be read or written.
    STORE_TROUBLE = "store_trouble"
    #: "Tell an admin" for a call whose answer is no longer "didn't ring".
    NOT_DIDNT_RING = "not_didnt_ring"


#: The results that wrote nothing and leave the receipt as it was.
REFUSALS = frozenset(
    {
        Noted.NOT_FOUND,
        Noted.NOT_YOURS,
        Noted.NOT_PLACED,
        Noted.STORE_TROUBLE,
        Noted.NOT_DIDNT_RING,
    }
)


@dataclass(frozen=True)
class Receipt:
    """A tap's result: what became of it, the call's row as it now is, and the week's count."""

    noted: Noted
    record: CallRecord | None = None
    #: Calls from the row's extension whose callers said they did not ring, in the last week.
    didnt_ring_week: int = 0

    @property
    def refused(self) -> bool:
        """Nothing was written: the tap named no call of the caller's that can be answered."""
        return self.noted in REFUSALS


@dataclass(frozen=True)
class Notice:
    """What "Tell an admin" decided: the call, the week's count, and whom to tell now."""

    receipt: Receipt
    #: Admins to message now (each claimed: no one else tells them within the hour).
    tell: tuple[str, ...] = ()
    #: Admins told about this extension within the last hour already.
    told_recently: tuple[str, ...] = ()
    #: Admins configured (DIALER_ADMINS); empty when there is no one to tell.
    admins: tuple[str, ...] = field(default_factory=tuple)


class ReceiptService:
    """Records callers' answers on their calls and decides when admins are told."""

    def __init__(self, settings: Settings, db: StoreRunner, metrics: Metrics) -> None:
        self.settings = settings
        self.db = db
        self.metrics = metrics

    async def answer(self, user_id: str, value: str, answer: CallerAnswer) -> Receipt:
        """Record `user_id`'s answer on the call a button's `value` names, if it is theirs."""
        checked = await self._check(user_id, value)
        if isinstance(checked, Receipt):
            return checked
        answers = self.db.store.answers
        try:
            written = await self.db.run(
                answers.answer, checked.id, user_id=user_id, answer=answer.value
            )
        except StoreError as error:
            log.warning("answer to call %s not recorded: %s", checked.id, error)
            return Receipt(Noted.STORE_TROUBLE, checked)
        if written is None:  # pruned or changed between the read and the write
            return Receipt(Noted.NOT_FOUND)
        if not written.changed:
            noted = Noted.UNCHANGED
        else:
            noted = Noted.RECORDED if written.previous is None else Noted.CHANGED
            self.metrics.caller_answered(answer, written.record.surface)
            log.info(
                "caller answer call=%s answer=%s surface=%s%s",
                checked.id,
                answer.value,
                written.record.surface,
                f" (was {written.previous})" if written.previous else "",
            )
        return Receipt(noted, written.record, await self._week(written.record))

    async def tell_admins(self, user_id: str, value: str) -> Notice:
        """Decide whom to tell that the caller's call did not ring: each admin once an hour."""
        checked = await self._check(user_id, value)
        if isinstance(checked, Receipt):
            return Notice(checked)
        if checked.answer != CallerAnswer.DIDNT_RING.value:
            return Notice(Receipt(Noted.NOT_DIDNT_RING, checked))
        receipt = Receipt(Noted.UNCHANGED, checked, await self._week(checked))
        admins = tuple(sorted(self.settings.admins))
        extension = checked.extension or ""
        tell: list[str] = []
        recent: list[str] = []
        for admin in admins:
            try:
                fresh = await self.db.run(
                    self.db.store.answers.claim_notice, extension, admin, within=NOTICE_SECONDS
                )
            except StoreError as error:
                log.warning("could not note a notice about extension %s: %s", extension, error)
                return Notice(Receipt(Noted.STORE_TROUBLE, checked), admins=admins)
            (tell if fresh else recent).append(admin)
        return Notice(receipt, tuple(tell), tuple(recent), admins)

    async def not_told(self, extension: str, admin_id: str) -> None:
        """A notice could not be delivered: let the next press try that admin again."""
        try:
            await self.db.run(self.db.store.answers.release_notice, extension, admin_id)
        except StoreError as error:
            log.warning("could not release a notice about extension %s: %s", extension, error)

    async def troubled_extensions(self) -> list[ExtensionTrouble]:
        """The extensions with the most "didn't ring" answers this week (for the admins' Home)."""
        answers = self.db.store.answers
        return await self.db.run(answers.top_didnt_ring, days=WEEK_DAYS, limit=TOP_EXTENSIONS)

    async def _check(self, user_id: str, value: str) -> CallRecord | Receipt:
        """The call a button names, if the caller may answer it; else why not."""
        if not CALL_ID.fullmatch(value or ""):
            return Receipt(Noted.NOT_FOUND)
        try:
            record = await self.db.run(self.db.store.answers.call, int(value))
        except StoreError as error:
            log.warning("call %s not read for an answer: %s", value, error)
            return Receipt(Noted.STORE_TROUBLE)
        if record is None:
            return Receipt(Noted.NOT_FOUND)
        if record.user_id != user_id:
            log.warning("user %s tapped a receipt of call %s, not theirs", user_id, record.id)
            return Receipt(Noted.NOT_YOURS)
        if record.outcome != Outcome.PLACED.value:
            return Receipt(Noted.NOT_PLACED, record)
        return record

    async def _week(self, record: CallRecord) -> int:
        """How often the call's extension did not ring this week (0 when it can't be read)."""
        if record.answer != CallerAnswer.DIDNT_RING.value or not record.extension:
            return 0
        try:
            answers = self.db.store.answers
            return await self.db.run(answers.didnt_ring_count, record.extension, days=WEEK_DAYS)
        except StoreError as error:
            log.warning("could not count extension %s's answers: %s", record.extension, error)
            return 0
