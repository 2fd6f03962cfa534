"""The call ledger on PostgreSQL: the shared audit log, and admission counted across replicas.

Admission is one transaction under a transaction-scoped advisory lock: the 429 pause, the
duplicate guard and both budgets are read, and the attempt logged, while no other replica's
admission can run, so together they never admit the same call twice or overspend a budget.
Every other write (refusals, finishing a call) does not take the lock.
"""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from bot.domain.rates import Rate
from bot.store.ledger import (
    DUPLICATE_WINDOW_SECONDS,
    MAY_HAVE_RUNG,
    PBX_SPENT,
    PENDING,
    PLACED,
    CallRecord,
    Held,
    Reserved,
)
from bot.store.pg.database import PgDatabase, PgPart
from bot.store.pg.errors import guarded
from bot.store.processes import PENDING_LIMIT_SECONDS, SLOW_WRITE_SECONDS
from bot.store.timestamps import iso

#: The advisory lock key every replica's admission takes ("WFDA" as a number).
ADMISSION_LOCK = 0x5746_4441
#: How long the metrics thread waits for the budget read.
METRICS_WAIT_SECONDS = 5.0
_RECORD = (
    "id, at, user_id, extension, destination, surface, outcome, pbx_status, latency_ms,"
    " detail, typed, answer"
)


class PgCallLedger(PgPart):
    """Write and read the audit log; admit a call only if the guard and budgets allow it."""

    def __init__(self, database: PgDatabase, owner: str) -> None:
        super().__init__(database)
        #: Names this process on the calls it places (see bot.store.pg.processes).
        self._owner = owner

    async def _insert_call(self, conn: AsyncConnection, now: float, **fields: Any) -> int:
        row = {"at": now, "at_utc": iso(now), "sent": 0, **fields}
        columns = ", ".join(row)
        marks = ", ".join(["%s"] * len(row))
        cursor = await conn.execute(
            f"INSERT INTO calls ({columns}) VALUES ({marks}) RETURNING id",  # type: ignore[arg-type]
            list(row.values()),
        )
        found = await cursor.fetchone()
        assert found is not None
        return int(found[0])

    @guarded
    async def record_refusal(
        self,
        user_id: str,
        *,
        extension: str | None,
        destination: str | None,
        surface: str,
        outcome: str,
        typed: str | None = None,
        detail: str = "",
    ) -> int:
        """Log an attempt that was refused before anything was sent to the PBX."""
        async with self._database.writing() as conn:
            return await self._insert_call(
                conn,
                self._now(),
                user_id=user_id,
                extension=extension,
                destination=destination,
                typed=typed,
                surface=surface,
                outcome=outcome,
                detail=detail[:500],
            )

    @guarded
    async def reserve(
        self,
        user_id: str,
        *,
        extension: str,
        destination: str,
        surface: str,
        user_rate: Rate,
        pbx_rate: Rate,
        detail: str = "",
        typed: str | None = None,
    ) -> Reserved | Held:
        """Atomically check the duplicate guard and both budgets, then log a pending call."""
        async with self._database.writing() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", [ADMISSION_LOCK])
            now = self._now()  # read under the lock: admissions are in the order of their times
            attempt = {
                "user_id": user_id,
                "extension": extension,
                "destination": destination,
                "typed": typed[:200] if typed else None,
                "surface": surface,
            }
            held = await _hold_reason(conn, now, user_id, destination, user_rate, pbx_rate)
            if held is not None:
                why = f"wait {held.wait_seconds}s" + (f"; {detail}" if detail else "")
                await self._insert_call(
                    conn, now, **attempt, outcome=f"held_{held.reason}", detail=why
                )
                return held
            call_id = await self._insert_call(
                conn,
                now,
                **attempt,
                outcome=PENDING,
                sent=1,
                detail=detail[:500],
                owner=self._owner,
            )
            return Reserved(call_id)

    @guarded
    async def pbx_budget_left(self, pbx_rate: Rate) -> int:
        """Requests the PBX budget still allows in its current window (read for the metrics)."""
        async with self._database.reading() as conn:
            used = await _budget_used(conn, self._now(), pbx_rate, PBX_SPENT, [])
        return max(0, pbx_rate.count - used)

    def from_thread(self) -> ThreadBudget:
        """The budget read for the metrics, which are built on a worker thread."""
        return ThreadBudget(self)

    @guarded
    async def finish(
        self,
        call_id: int,
        *,
        outcome: str,
        sent: bool,
        pbx_status: int | None,
        latency_ms: int,
        detail: str = "",
        finished_at: float | None = None,
    ) -> None:
        """Record how a reserved call ended (at `finished_at`, when written later than that)."""
        ended = self._now() if finished_at is None else finished_at
        async with self._database.writing(wait=SLOW_WRITE_SECONDS) as conn:
            await conn.execute(
                "UPDATE calls SET outcome = %s, sent = %s, pbx_status = %s, latency_ms = %s,"
                " detail = %s, finished_at = %s WHERE id = %s",
                [outcome, int(sent), pbx_status, latency_ms, detail[:500], ended, call_id],
            )

    @guarded
    async def pause_pbx(self, seconds: float) -> None:
        """Remember that the PBX asked us to stop (429) for `seconds` from now: every replica."""
        await self._block_until(self._now() + seconds)

    @guarded
    async def block_pbx_until(self, until: float) -> None:
        """Remember that the PBX asked us to stop (429) until `until`, for every replica."""
        await self._block_until(until)

    async def _block_until(self, until: float) -> None:
        async with self._database.writing(wait=SLOW_WRITE_SECONDS) as conn:
            await conn.execute(
                "INSERT INTO pbx_state (key, value) VALUES ('blocked_until', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [until],
            )

    @guarded
    async def recent(self, *, user_id: str | None = None, limit: int = 20) -> list[CallRecord]:
        """The newest audit rows, optionally for one user."""
        where, args = ("WHERE user_id = %s", [user_id]) if user_id else ("", [])
        return await self._records(where, args, limit)

    @guarded
    async def recent_with_outcomes(
        self, outcomes: tuple[str, ...], *, limit: int = 5
    ) -> list[CallRecord]:
        """The newest audit rows whose outcome is one of `outcomes` (e.g. failures)."""
        return await self._records("WHERE outcome = ANY(%s)", [list(outcomes)], limit)

    async def _records(self, where: str, args: list[Any], limit: int) -> list[CallRecord]:
        async with self._database.reading() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                f"SELECT {_RECORD} FROM calls {where} ORDER BY at DESC, id DESC LIMIT %s",  # type: ignore[arg-type]
                [*args, limit],
            )
            return [CallRecord(**row) for row in await cursor.fetchall()]

    @guarded
    async def prune(self, older_than_days: int) -> int:
        """Delete audit rows older than the retention period; answer how many went."""
        cutoff = self._now() - older_than_days * 86400
        async with self._database.writing(wait=SLOW_WRITE_SECONDS) as conn:
            cursor = await conn.execute("DELETE FROM calls WHERE at < %s", [cutoff])
            return cursor.rowcount


class ThreadBudget:
    """`pbx_budget_left` for a worker thread: the coroutine runs on the store's event loop."""

    def __init__(self, ledger: PgCallLedger) -> None:
        self._ledger = ledger

    def pbx_budget_left(self, pbx_rate: Rate) -> int:
        """Requests the PBX budget still allows; raises when the store can't be read."""
        loop = self._ledger._database.loop
        if loop is None:
            raise RuntimeError("the store is not open")
        read = asyncio.run_coroutine_threadsafe(self._ledger.pbx_budget_left(pbx_rate), loop)
        return read.result(timeout=METRICS_WAIT_SECONDS)


async def _one(conn: AsyncConnection, sql: str, args: list[Any]) -> tuple[Any, ...] | None:
    cursor = await conn.execute(sql, args)  # type: ignore[arg-type]  # our own constants
    return await cursor.fetchone()


#: Everything admission reads, in one statement (one round trip under the admission lock):
#: the 429 pause, a call to the same destination in flight, the last one that may have rung,
#: and what the user's and the whole app's budgets have spent in their windows.
ADMISSION_FACTS = f"""
SELECT
    (SELECT value FROM pbx_state WHERE key = 'blocked_until'),
    EXISTS (
        SELECT 1 FROM calls WHERE user_id = %(user)s AND destination = %(destination)s
        AND outcome = %(pending)s AND at > %(recent)s
    ),
    last.ended,
    last.outcome,
    (SELECT count(*) FROM calls WHERE user_id = %(user)s AND sent = 1 AND at > %(user_since)s),
    (SELECT count(*) FROM calls WHERE {PBX_SPENT} AND at > %(pbx_since)s)
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT coalesce(finished_at, at) AS ended, outcome FROM calls
    WHERE user_id = %(user)s AND destination = %(destination)s
    AND outcome = ANY(%(rung)s) AND at > %(recent)s
    ORDER BY ended DESC LIMIT 1
) AS last ON true
"""


async def _hold_reason(
    conn: AsyncConnection,
    now: float,
    user_id: str,
    destination: str,
    user_rate: Rate,
    pbx_rate: Rate,
) -> Held | None:
    """Why a call may not go now, read in one statement; the same rules, in the same order,
    as bot.store.ledger's (the pause, the duplicate guard, the user's budget, the app's)."""
    facts = {
        "user": user_id,
        "destination": destination,
        "pending": PENDING,
        "rung": list(MAY_HAVE_RUNG),
        "recent": now - PENDING_LIMIT_SECONDS,
        "user_since": now - user_rate.seconds,
        "pbx_since": now - pbx_rate.seconds,
    }
    row = await _one(conn, ADMISSION_FACTS, facts)  # type: ignore[arg-type]  # named params
    assert row is not None  # one row, always (FROM a one-row table)
    blocked_until, in_flight, last_ended, last_outcome, user_spent, pbx_spent = row
    if blocked_until is not None and blocked_until > now:
        return Held("pbx_cooldown", _ceil(blocked_until - now))
    if in_flight:
        return Held("duplicate", _ceil(DUPLICATE_WINDOW_SECONDS))
    if last_ended is not None and last_ended > now - DUPLICATE_WINDOW_SECONDS:
        reason = "duplicate" if last_outcome == PLACED else "may_still_ring"
        return Held(reason, _ceil(last_ended + DUPLICATE_WINDOW_SECONDS - now))
    if user_spent >= user_rate.count:
        where = "user_id = %s AND sent = 1"
        return Held("user_rate", await _slot_frees(conn, now, user_rate, where, [user_id]))
    if pbx_spent >= pbx_rate.count:
        return Held("pbx_rate", await _slot_frees(conn, now, pbx_rate, PBX_SPENT, []))
    return None


def _ceil(seconds: float) -> int:
    return max(1, int(seconds + 0.999))


async def _budget_used(
    conn: AsyncConnection, now: float, rate: Rate, where: str, args: list[Any]
) -> int:
    """How many of the budget's requests the current window has spent."""
    row = await _one(
        conn, f"SELECT count(*) FROM calls WHERE {where} AND at > %s", [*args, now - rate.seconds]
    )
    return int(row[0]) if row else 0


async def _slot_frees(
    conn: AsyncConnection, now: float, rate: Rate, where: str, args: list[Any]
) -> int:
    """Seconds until a spent budget's window frees a slot (read only when it is spent)."""
    oldest = await _one(
        conn,
        f"SELECT at FROM calls WHERE {where} AND at > %s ORDER BY at DESC LIMIT 1 OFFSET %s",
        [*args, now - rate.seconds, rate.count - 1],
    )
    assert oldest is not None
    return _ceil(oldest[0] + rate.seconds - now)
