"""The one dialing path every surface shares: read, refuse or reserve, announce, place, record.

A surface (the slash command, the message shortcut, a button, the modal, Home, a workflow
step) turns Slack's shapes into a `CallRequest` and hands `DialService.dial` its `Replies`:
how it shows a refusal, the "Calling…" line and the final outcome. Everything else — what
the text means, the destination policy, the duplicate guard, the budgets, the PBX and the
audit log — happens here, once. Each step's `Answer` is an outcome and its facts; the surface
words it (bot.slack.text).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from bot.config import Settings
from bot.domain import extensions, numbers
from bot.domain.directory import Decision
from bot.domain.facts import Facts
from bot.domain.ids import EXTENSION, MENTION
from bot.domain.outcomes import OUTCOMES, Outcome
from bot.metrics import Metrics
from bot.pbx import DialerError, RateLimited, WebFonesClient
from bot.services.acks import AckGate
from bot.services.directory_links import DirectoryLinks
from bot.store import DUPLICATE_WINDOW_SECONDS, Held, StoreBusy, StoreError
from bot.store.runner import StoreRunner

log = logging.getLogger(__name__)

DEFAULT_COOLDOWN_SECONDS = 60.0
#: A Retry-After far in the future (or garbage) must not stop all dialing for days.
MAX_COOLDOWN_SECONDS = 900.0
#: Slack shows at most 25 elements in one actions block.
MAX_CHOICES = 25
#: An outcome the store could not write is tried again this often until it is written.
RETRY_RECORD_SECONDS = 2.0
#: Refusals for the same store trouble are logged once in this long, not once per dial.
STORE_LOG_SECONDS = 60.0

#: While Bolt dispatches a request: done once the dispatch has handed its response (the ack)
#: back to the adapter, which sends it on without yielding. Set by bot.slack.app.DialerApp.
ACK_SENT: ContextVar[asyncio.Future[None] | None] = ContextVar("ack_sent", default=None)


class Surface(StrEnum):
    """Where in Slack a call was asked for, as the audit log's `surface` column names it."""

    SLASH = "slash"
    SHORTCUT = "shortcut"
    CHOICE = "choice"
    MODAL = "modal"
    HOME = "home"
    WORKFLOW = "workflow"


@dataclass(frozen=True)
class CallRequest:
    """Someone asked for a call: who, what they typed or picked, and where."""

    user_id: str
    text: str
    surface: Surface
    #: Kept in the audit row's detail (a workflow's and its run's ids).
    context: str = ""


@dataclass(frozen=True)
class Answer:
    """What the service says back at one step: refused, calling, or how the call ended.

    It carries facts, not words: the surface that shows it words it (bot.slack.text).
    """

    outcome: Outcome
    facts: Facts
    #: The audit destination: E.164 ("+15808675309") or extension digits; None when unread.
    destination: str | None = None
    #: The call's audit row, once a slot was reserved: a placed call's receipt names it.
    call_id: int | None = None

    @property
    def placed(self) -> bool:
        """The PBX accepted the call."""
        return self.outcome == Outcome.PLACED


class Replies(Protocol):
    """How one surface shows the service's answers; each is called at most once per dial."""

    async def refused(self, answer: Answer) -> None:
        """Nothing was sent: show why."""

    async def calling(self, answer: Answer) -> None:
        """A call slot is reserved: show the immediate "Calling…" line."""

    async def finished(self, answer: Answer) -> None:
        """The PBX answered (or failed): show the outcome."""


@dataclass(frozen=True)
class _Target:
    """Where a call goes: what the PBX gets, what the user reads, what the log keeps."""

    pbx_digits: str
    display: str
    audit: str
    #: An extension typed after the number, which the PBX can't dial: the caller dials it.
    then_dial: str = ""


@dataclass(frozen=True)
class _Started:
    """A reserved call slot, waiting to be sent."""

    call_id: int
    request: CallRequest
    extension: str
    target: _Target


@dataclass(frozen=True)
class Offer:
    """The numbers in a message that may be dialed, and how many were left out and why."""

    dialable: list[numbers.Destination]
    left_out: dict[str, int]


class DialService:
    """Turns a request to call into exactly one PBX call, or a clear reason why not."""

    def __init__(
        self,
        settings: Settings,
        db: StoreRunner,
        dialer: WebFonesClient,
        *,
        metrics: Metrics | None = None,
        after_call: Callable[[str, Answer], Awaitable[None]] | None = None,
        acks: AckGate | None = None,
        directory: DirectoryLinks | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.dialer = dialer
        self.metrics = metrics or Metrics()
        #: Called with the user's ID and the final answer after each call ends (Home's refresh).
        self.after_call = after_call
        #: Other requests' acks go before this service's PBX requests (bot.services.acks).
        self.acks = acks or AckGate()
        #: Links people from the company directory on first use (DIALER_EXTENSION_FIELD).
        self.directory = directory
        self._in_flight: set[asyncio.Task] = set()
        self._background: set[asyncio.Task] = set()
        #: Outcomes the store could not write yet (call id → calls.finish arguments), and the
        #: task writing them again every `retry_seconds`.
        self._unrecorded: dict[int, dict[str, Any]] = {}
        self._retrying: asyncio.Task | None = None
        self.retry_seconds = RETRY_RECORD_SECONDS
        #: The last store trouble logged for a refused dial: (its line, when), and how many
        #: refusals for it went unlogged since.
        self._store_logged: tuple[str, float] | None = None
        self._store_unlogged = 0

    # --- the sequence -----------------------------------------------------------------------

    async def dial(self, request: CallRequest, replies: Replies) -> Answer:
        """Read, gate, announce, place and record one call; tell `replies` at each step."""
        target = await self._resolve(request)
        if isinstance(target, Answer):
            await replies.refused(target)
            return target
        started = await self._begin(request, target)
        if isinstance(started, Answer):
            await replies.refused(started)
            return started
        calling = Answer(Outcome.PENDING, self._facts(started), started.target.audit)
        await replies.calling(calling)
        finished = await self._finish(started)
        await replies.finished(finished)
        return finished

    async def refuse(
        self,
        request: CallRequest,
        outcome: Outcome,
        facts: Facts | None = None,
        *,
        destination: str | None = None,
    ) -> Answer:
        """Record an attempt refused before the PBX, and answer its sentence."""
        facts = facts or Facts()
        extension = None
        try:
            link = await self.db.run(self.db.store.links.get, request.user_id)
            extension = link.extension if link else None
            await self.db.run(
                self.db.store.calls.record_refusal,
                request.user_id,
                extension=extension,
                destination=destination[:64] if destination else None,
                typed=request.text[:200] or None,
                surface=request.surface.value,
                outcome=outcome.value,
                detail=request.context,
            )
        except StoreError as error:
            log.warning("refusal for %s not recorded: %s", request.user_id, error)
        _log_attempt(request, outcome, extension, destination)
        self.metrics.dial_ended(request.surface.value, outcome)
        return Answer(outcome, replace(facts, admins=self._admins), destination)

    async def dial_from_message(self, request: CallRequest, replies: Replies) -> Answer | Offer:
        """Dial the one number in a message's text, or answer the dialable ones to choose from.

        A message with no number is refused; with one (or with several none of which may be
        dialed) that number is dialed, so the user reads exactly why it can't be; otherwise
        the surface offers the dialable ones.
        """
        settings = self.settings
        found = numbers.find_numbers(request.text, settings.default_region)
        if not found:
            refused = await self.refuse(replace(request, text=""), Outcome.REFUSED_NO_NUMBER)
            await replies.refused(refused)
            return refused
        offer = self.offer_from_message(request.text)
        if len(found) == 1 or not offer.dialable:
            return await self.dial(replace(request, text=found[0].e164), replies)
        return offer

    def offer_from_message(self, text: str) -> Offer:
        """Which numbers in a message may be dialed (up to Slack's limit), and why not the rest."""
        settings = self.settings
        dialable: list[numbers.Destination] = []
        left_out: Counter[str] = Counter()
        for found in numbers.find_numbers(text, settings.default_region):
            result = numbers.resolve_external(
                found.e164, settings.default_region, settings.allowed_regions
            )
            if isinstance(result, numbers.Refusal):
                left_out[result.reason] += 1
            elif len(dialable) >= MAX_CHOICES:
                left_out["over_limit"] += 1
            else:
                dialable.append(found)
        return Offer(dialable, dict(left_out))

    async def claim(self, key: str) -> bool | Answer:
        """Claim a request by name (a workflow run): True the first time, False for a repeat,
        or the refusal when the store can't say (nothing is dialed that can't be recorded)."""
        try:
            return await self.db.run(self.db.store.claims.claim, key, done=True)
        except StoreError as error:
            log.warning("request %s not claimed: %s", key, type(error).__name__)
            return Answer(store_trouble(error), Facts())

    async def drain(self, timeout: float) -> None:
        """Wait for calls already sent to the PBX to be answered, up to `timeout` seconds.

        Outcomes still unwritten are tried once more; those that still fail are named in the
        log (the next start settles their rows as interrupted).
        """
        pending = [task for task in self._in_flight if not task.done()]
        if pending:
            log.info("waiting for %d call(s) in flight", len(pending))
            await asyncio.wait(pending, timeout=timeout)
        if self._unrecorded and not await self.record_unrecorded():
            log.error(
                "the outcome of %d call(s) could not be recorded before stopping (calls %s): "
                "the next start records them as interrupted",
                len(self._unrecorded),
                ", ".join(str(call_id) for call_id in sorted(self._unrecorded)),
            )
        retrying, self._retrying = self._retrying, None
        if retrying is not None and not retrying.done():  # that was the last try
            retrying.cancel()
            with suppress(asyncio.CancelledError):
                await retrying

    # --- reading what was asked for -----------------------------------------------------------

    @property
    def _admins(self) -> tuple[str, ...]:
        return tuple(sorted(self.settings.admins))

    def _special_extension(self, digits: str) -> bool:
        """Whether digits that name an extension would reach emergency or special services.

        The rule that refuses to link them (bot.domain.extensions); a link made before it existed is
        still refused here, so it is never dialed.
        """
        return extensions.is_special_extension(digits, self.settings.default_region)

    async def _resolve(self, request: CallRequest) -> _Target | Answer:
        """Read what the user typed as a colleague, an extension or an external number."""
        text = numbers.strip_slack_markup(request.text)
        mention = MENTION.fullmatch(text)
        try:
            if mention:
                return await self._colleague(request, mention[1])
            linked = bool(EXTENSION.match(text)) and bool(
                await self.db.run(self.db.store.links.users_with, text)
            )
        except StoreError as error:
            return self._store_failure(request, error)
        if linked:
            if self._special_extension(text):
                facts = Facts(digits=text)
                return await self.refuse(request, Outcome.REFUSED_SPECIAL_EXTENSION, facts)
            return _Target(pbx_digits=text, display=text, audit=text)
        settings = self.settings
        result = numbers.resolve_external(text, settings.default_region, settings.allowed_regions)
        if isinstance(result, numbers.Refusal):
            outcome = result.outcome
            facts = result.facts
            if outcome == Outcome.REFUSED_NOT_UNDERSTOOD and EXTENSION.match(text):
                outcome = Outcome.REFUSED_UNKNOWN_EXTENSION
            destination = result.e164 or (text if EXTENSION.match(text) else None)
            return await self.refuse(request, outcome, facts, destination=destination)
        return _Target(result.pbx_digits, result.display, result.e164, then_dial=result.extension)

    async def _colleague(self, request: CallRequest, colleague: str) -> _Target | Answer:
        link = await self.db.run(self.db.store.links.get, colleague)
        if link is None:
            facts = Facts(colleague=colleague)
            outcome = Outcome.REFUSED_COLLEAGUE_UNLINKED
            return await self.refuse(request, outcome, facts, destination=f"<@{colleague}>")
        if self._special_extension(link.extension):
            facts = Facts(digits=link.extension)
            return await self.refuse(
                request, Outcome.REFUSED_SPECIAL_EXTENSION, facts, destination=link.extension
            )
        return _Target(pbx_digits=link.extension, display=link.extension, audit=link.extension)

    # --- gating and reserving ---------------------------------------------------------------

    async def _begin(self, request: CallRequest, target: _Target) -> _Started | Answer:
        """Check the caller's link, the duplicate guard and the budgets; reserve a call slot."""
        store = self.db.store
        facts = Facts(display=target.display)
        try:
            link = await self.db.run(store.links.get, request.user_id)
            if link is None and self.directory is not None:  # linked on first use
                found = await self.directory.first_use(request.user_id)
                if isinstance(found, Decision):
                    conflict = replace(facts, digits=found.value, colleague=found.holder)
                    outcome = Outcome.REFUSED_DIRECTORY_CONFLICT
                    return await self.refuse(request, outcome, conflict, destination=target.audit)
                link = found
        except StoreError as error:
            return self._store_failure(request, error, target)
        if link is None:
            outcome = Outcome.REFUSED_UNLINKED
            return await self.refuse(request, outcome, facts, destination=target.audit)
        if target.pbx_digits == link.extension:
            outcome = Outcome.REFUSED_OWN_EXTENSION
            return await self.refuse(request, outcome, facts, destination=target.audit)
        if self._unrecorded:
            # The duplicate guard must see how earlier calls ended, not a stale "pending".
            await self.record_unrecorded()
        try:
            slot = await self.db.run(
                store.calls.reserve,
                request.user_id,
                extension=link.extension,
                destination=target.audit,
                surface=request.surface.value,
                user_rate=self.settings.user_rate,
                pbx_rate=self.settings.pbx_rate,
                detail=request.context,
                typed=request.text,
            )
        except StoreError as error:
            return self._store_failure(request, error, target)
        if isinstance(slot, Held):
            outcome = Outcome(f"held_{slot.reason}")
            _log_attempt(request, outcome, link.extension, target.audit)
            self.metrics.dial_ended(request.surface.value, outcome)
            held = replace(facts, extension=link.extension, wait_seconds=slot.wait_seconds)
            return Answer(outcome, held, target.audit)
        return _Started(slot.call_id, request, link.extension, target)

    def _store_failure(
        self, request: CallRequest, error: StoreError, target: _Target | None = None
    ) -> Answer:
        """Nothing is dialed that could not be recorded: say whether the log is busy or broken."""
        outcome = store_trouble(error)
        self._log_store_failure(request, outcome, error)
        self.metrics.dial_ended(request.surface.value, outcome)
        display = target.display if target else ""
        return Answer(outcome, Facts(display=display), target.audit if target else None)

    def _log_store_failure(self, request: CallRequest, outcome: Outcome, error: StoreError) -> None:
        """One line per store trouble, not one per refused dial: again when it changes, or
        after STORE_LOG_SECONDS with the count of refusals left unlogged meanwhile."""
        busy = outcome == Outcome.REFUSED_STORE_BUSY
        trouble = "the call log is locked" if busy else str(error)
        now = time.monotonic()
        last = self._store_logged
        if last is not None and last[0] == trouble and now - last[1] < STORE_LOG_SECONDS:
            self._store_unlogged += 1
            return
        since = ""
        if last is not None and last[0] == trouble and self._store_unlogged:
            since = f" ({self._store_unlogged} more refused for this since it was last logged)"
        self._store_logged, self._store_unlogged = (trouble, now), 0
        level = logging.WARNING if busy else logging.ERROR
        log.log(level, "call for %s not placed: %s%s", request.user_id, trouble, since)

    # --- placing and recording ---------------------------------------------------------------

    async def _finish(self, started: _Started) -> Answer:
        """Ask the PBX for the call, log the outcome and answer the final sentence."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        answer = Answer(Outcome.ERROR, self._facts(started), started.target.audit)
        try:
            with self.metrics.calls_in_flight.track_inprogress():
                # The ack goes first: under a burst, PBX requests sent meanwhile would delay
                # everyone else's ack. The ack itself never waits for the PBX.
                await _ack_sent()
                await self.acks.after_acks()
                answer = replace(await self._place(started), call_id=started.call_id)
            return answer
        finally:
            if task is not None:
                self._in_flight.discard(task)
            self.metrics.dial_ended(started.request.surface.value, answer.outcome)
            self._notify_after_call(started.request.user_id, answer)

    def _facts(self, started: _Started, wait_seconds: int = 0) -> Facts:
        return Facts(
            display=started.target.display,
            extension=started.extension,
            then_dial=started.target.then_dial,
            wait_seconds=wait_seconds,
            admins=self._admins,
        )

    async def _place(self, started: _Started) -> Answer:
        began = time.monotonic()
        target = started.target
        try:
            placed = await self.dialer.place_call(started.extension, target.pbx_digits)
        except DialerError as error:
            outcome = Outcome(error.kind)
            wait = await self._after_failure(error)
            await self._record(started, outcome, error.status, error.latency_ms, error.detail)
            return Answer(outcome, self._facts(started, wait), target.audit)
        except Exception:
            log.exception("unexpected failure placing call %s", started.call_id)
            await self._record(started, Outcome.ERROR, None, _ms(began), "unexpected")
            return Answer(Outcome.ERROR, self._facts(started), target.audit)
        await self._record(started, Outcome.PLACED, placed.status, placed.latency_ms, "")
        return Answer(Outcome.PLACED, self._facts(started), target.audit)

    async def _after_failure(self, error: DialerError) -> int:
        """Seconds the user should wait before trying again; remember a 429's pause."""
        if isinstance(error, RateLimited):
            pause = min(error.retry_after or DEFAULT_COOLDOWN_SECONDS, MAX_COOLDOWN_SECONDS)
            self.metrics.pbx_paused()
            try:
                await self.db.run(self.db.store.calls.pause_pbx, pause)
            except Exception as failure:
                log.warning("could not record the PBX's 429 pause: %s", type(failure).__name__)
            return int(pause)
        if OUTCOMES[Outcome(error.kind)].may_have_rung:
            return int(DUPLICATE_WINDOW_SECONDS)
        return 0

    async def _record(
        self, started: _Started, outcome: Outcome, status: int | None, latency_ms: int, detail: str
    ) -> None:
        """Keep how the PBX answered: in the audit log, and its latency in the metrics.

        An outcome the store can't write now (a full disk while the call was at the PBX) is
        kept and written again until it is: otherwise its row would stay pending, holding
        the user's next dial as "already calling" and read as interrupted at the next start.
        """
        self.metrics.pbx_answered(outcome, latency_ms / 1000)
        # The request's context (a workflow's run ids) stays in the row beside the PBX's word.
        detail = "; ".join(part for part in (started.request.context, detail) if part)
        fields: dict[str, Any] = {
            "outcome": outcome.value,
            "sent": OUTCOMES[outcome].sent,
            "pbx_status": status,
            "latency_ms": latency_ms,
            "detail": detail,
            # When written late, the duplicate window still runs from when the call ended.
            "finished_at": self.db.store.now(),
        }
        try:
            await self.db.run(self.db.store.calls.finish, started.call_id, **fields)
        except StoreError as error:
            log.error(
                "could not record the outcome of call %s (%s): %s; trying again every %g s",
                started.call_id,
                outcome.value,
                error,
                self.retry_seconds,
            )
            self._unrecorded[started.call_id] = fields
            self._retry_later()
        except Exception:
            log.exception("could not record the outcome of call %s", started.call_id)

    async def record_unrecorded(self) -> bool:
        """Write the outcomes kept after a failed write; answer whether none is left."""
        for call_id, fields in list(self._unrecorded.items()):
            try:
                await self.db.run(self.db.store.calls.finish, call_id, **fields)
            except StoreError:
                return False
            if self._unrecorded.pop(call_id, None) is not None:
                outcome = fields["outcome"]
                log.info("recorded the outcome of call %s after all (%s)", call_id, outcome)
        return True

    def _retry_later(self) -> None:
        """Start the task that writes kept outcomes until none is left (one at a time)."""
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._keep_recording())

    async def _keep_recording(self) -> None:
        while self._unrecorded:
            await asyncio.sleep(self.retry_seconds)
            await self.record_unrecorded()

    def _notify_after_call(self, user_id: str, answer: Answer) -> None:
        if self.after_call is None:
            return
        task = asyncio.create_task(self.after_call(user_id, answer))
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _log_attempt(
    request: CallRequest, outcome: Outcome, extension: str | None, destination: str | None
) -> None:
    """One line per attempt that never reached the PBX (the dialer logs the ones that did)."""
    log.log(
        OUTCOMES[outcome].log_level,
        "dial not sent user=%s surface=%s outcome=%s extension=%s",
        request.user_id,
        request.surface.value,
        outcome.value,
        extension or "-",
    )


def store_trouble(error: StoreError) -> Outcome:
    """The refusal for a store that could not record an attempt: busy, or failed."""
    busy = isinstance(error, StoreBusy)
    return Outcome.REFUSED_STORE_BUSY if busy else Outcome.REFUSED_STORE_FAILED


async def _ack_sent() -> None:
    """Wait until the response to the request being handled has gone back to Slack, if any."""
    sent = ACK_SENT.get()
    if sent is not None and not sent.done():
        await sent


def _ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)
