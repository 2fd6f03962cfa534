"""The one dialing path every surface shares: resolve, gate, place, record, explain."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from bot import messages, numbers, views
from bot.config import Settings
from bot.dialer import DialerError, RateLimited, WebFonesClient
from bot.ids import EXTENSION, MENTION
from bot.store import Held, Reserved, Store, StoreBusy, WouldWait

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_COOLDOWN_SECONDS = 60.0
#: A Retry-After far in the future (or garbage) must not stop all dialing for days.
MAX_COOLDOWN_SECONDS = 900.0

#: While Bolt dispatches a request: done once the dispatch has handed its response (the ack)
#: back to the adapter, which sends it on without yielding. Set by bot.app.DialerApp.
ACK_SENT: ContextVar[asyncio.Future[None] | None] = ContextVar("ack_sent", default=None)


@dataclass(frozen=True)
class Target:
    """Where a call goes: what the PBX gets, what the user reads, what the log keeps."""

    pbx_digits: str
    display: str
    audit: str


@dataclass(frozen=True)
class Refused:
    """Nothing was sent; `text` tells the user why (and `blocks` may offer a next step)."""

    text: str
    blocks: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Started:
    """A call slot is reserved; `announcement` is the immediate 'Calling…' line."""

    call_id: int
    user_id: str
    extension: str
    target: Target
    surface: str

    @property
    def announcement(self) -> str:
        """The immediate reply while the PBX works."""
        return messages.calling(self.target.display, self.extension)


class Database:
    """Runs Store calls so the event loop never waits on a lock held by another writer.

    A store call takes well under a millisecond, far less than handing it to a thread (which
    is what made acks queue behind each other under load), so it runs on the loop itself
    unless a write would have to wait for a lock: then it is retried on a small thread pool.
    """

    def __init__(self, store: Store, workers: int = 8) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call fn(*args, **kwargs) now if it need not wait, else on the pool; await it."""
        try:
            with self.store.without_waiting():
                return fn(*args, **kwargs)
        except WouldWait:
            return await self.run_in_pool(fn, *args, **kwargs)

    async def run_in_pool(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call fn(*args, **kwargs) on the pool (for slow work) and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        """Finish queued work and stop the pool."""
        self._pool.shutdown(wait=True)


def admins_hint(settings: Settings) -> str:
    """Who a user should ask about links, in words."""
    if settings.admins:
        names = ", ".join(f"<@{user_id}>" for user_id in sorted(settings.admins))
        return f"an admin ({names})"
    return "a workspace admin"


class DialService:
    """Turns a request to call into exactly one PBX call, or a clear reason why not."""

    def __init__(self, settings: Settings, db: Database, dialer: WebFonesClient) -> None:
        self.settings = settings
        self.db = db
        self.dialer = dialer
        self._in_flight: set[asyncio.Task] = set()
        self._background: set[asyncio.Task] = set()
        #: Called with the user's ID and the outcome sentence after each call ends.
        self.after_call: Callable[[str, str], Awaitable[None]] | None = None

    async def resolve(self, user_id: str, text: str, surface: str) -> Target | Refused:
        """Read what the user typed as a colleague, an extension or an external number."""
        text = numbers.strip_slack_markup(text)
        mention = MENTION.fullmatch(text)
        if mention:
            return await self._colleague(user_id, mention[1], surface)
        settings = self.settings
        if (
            EXTENSION.match(text)
            and not numbers.is_emergency(text, settings.default_region, settings.allowed_regions)
            and await self.db.run(self.db.store.users_with_extension, text)
        ):
            return Target(pbx_digits=text, display=text, audit=text)
        result = numbers.resolve_external(text, settings.default_region, settings.allowed_regions)
        if isinstance(result, numbers.Refusal):
            sentence = result.text
            if result.reason == "not_understood" and EXTENSION.match(text):
                sentence = messages.unknown_extension(text)
            return await self.refuse(user_id, text, surface, f"refused_{result.reason}", sentence)
        return Target(pbx_digits=result.pbx_digits, display=result.display, audit=result.e164)

    async def _colleague(self, user_id: str, colleague: str, surface: str) -> Target | Refused:
        link = await self.db.run(self.db.store.get_link, colleague)
        if link is None:
            text = messages.colleague_not_linked(colleague)
            return await self.refuse(user_id, f"<@{colleague}>", surface, "refused_unlinked", text)
        if numbers.is_emergency(
            link.extension, self.settings.default_region, self.settings.allowed_regions
        ):
            return await self.resolve(user_id, link.extension, surface)  # the emergency refusal
        return Target(pbx_digits=link.extension, display=link.extension, audit=link.extension)

    async def refuse(
        self, user_id: str, destination: str | None, surface: str, outcome: str, text: str
    ) -> Refused:
        """Log an attempt refused before the PBX, and answer the sentence for the user."""
        try:
            link = await self.db.run(self.db.store.get_link, user_id)
            await self.db.run(
                self.db.store.record_refusal,
                user_id,
                extension=link.extension if link else None,
                destination=destination[:64] if destination else None,
                surface=surface,
                outcome=outcome,
                detail=text,
            )
        except (StoreBusy, sqlite3.Error) as error:
            log.warning("refusal for %s not recorded: %s", user_id, type(error).__name__)
        return Refused(text)

    async def begin(self, user_id: str, target: Target, surface: str) -> Started | Refused:
        """Check the caller's link, the duplicate guard and the budgets; reserve a call slot."""
        store = self.db.store
        link = await self.db.run(store.get_link, user_id)
        if link is None:
            text = messages.not_linked(admins_hint(self.settings))
            await self.refuse(user_id, target.audit, surface, "refused_unlinked", text)
            return Refused(text, views.not_linked_blocks(text))
        if target.pbx_digits == link.extension:
            text = messages.own_extension(link.extension)
            return await self.refuse(user_id, target.audit, surface, "refused_own_extension", text)
        try:
            slot = await self.db.run(
                store.reserve_call,
                user_id,
                extension=link.extension,
                destination=target.audit,
                surface=surface,
                user_rate=self.settings.user_rate,
                pbx_rate=self.settings.pbx_rate,
            )
        except (StoreBusy, sqlite3.Error) as error:
            log.warning("could not reserve a call for %s: %s", user_id, type(error).__name__)
            return Refused(messages.store_busy())
        if isinstance(slot, Held):
            return Refused(messages.held(slot, target.display))
        assert isinstance(slot, Reserved)
        return Started(slot.call_id, user_id, link.extension, target, surface)

    async def finish(self, started: Started) -> str:
        """Ask the PBX for the call, log the outcome and answer the sentence for the user."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        outcome = messages.unexpected_error()
        try:
            # The ack goes first: under a burst, PBX requests sent meanwhile would delay
            # everyone else's ack. The ack itself never waits for the PBX.
            await _ack_sent()
            outcome = await self._place(started)
            return outcome
        finally:
            if task is not None:
                self._in_flight.discard(task)
            self._notify_after_call(started.user_id, outcome)

    def _notify_after_call(self, user_id: str, outcome: str) -> None:
        if self.after_call is None:
            return
        task = asyncio.create_task(self.after_call(user_id, outcome))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _place(self, started: Started) -> str:
        began = time.monotonic()
        target = started.target
        try:
            placed = await self.dialer.place_call(started.extension, target.pbx_digits)
        except DialerError as error:
            await self._record_failure(started, error)
            retry_after = error.retry_after if isinstance(error, RateLimited) else None
            return messages.failure(error.kind, target.display, started.extension, retry_after)
        except Exception:
            log.exception("unexpected failure placing call %s", started.call_id)
            await self._finish(started, "error", True, None, _ms(began), "unexpected")
            return messages.unexpected_error()
        await self._finish(started, "placed", True, placed.status, placed.latency_ms, "")
        return messages.placed(target.display, started.extension)

    async def _record_failure(self, started: Started, error: DialerError) -> None:
        try:
            if isinstance(error, RateLimited):
                pause = min(error.retry_after or DEFAULT_COOLDOWN_SECONDS, MAX_COOLDOWN_SECONDS)
                await self.db.run(self.db.store.block_pbx_until, time.time() + pause)
        except Exception as failure:
            log.warning("could not record the PBX's 429 pause: %s", type(failure).__name__)
        finally:
            await self._finish(
                started, error.kind, error.sent, error.status, error.latency_ms, error.detail
            )

    async def _finish(
        self,
        started: Started,
        outcome: str,
        sent: bool,
        status: int | None,
        latency_ms: int,
        detail: str,
    ) -> None:
        try:
            await self.db.run(
                self.db.store.finish_call,
                started.call_id,
                outcome=outcome,
                sent=sent,
                pbx_status=status,
                latency_ms=latency_ms,
                detail=detail,
            )
        except Exception:
            log.exception("could not record the outcome of call %s", started.call_id)

    async def drain(self, timeout: float) -> None:
        """Wait for calls already sent to the PBX to be answered, up to `timeout` seconds."""
        pending = [task for task in self._in_flight if not task.done()]
        if pending:
            log.info("waiting for %d call(s) in flight", len(pending))
            await asyncio.wait(pending, timeout=timeout)


async def _ack_sent() -> None:
    """Wait until the response to the request being handled has gone back to Slack, if any."""
    sent = ACK_SENT.get()
    if sent is not None and not sent.done():
        await sent


def _ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)
