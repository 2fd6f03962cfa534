"""The call ledger: the audit log of every attempt, and the admission rules counted from it.

Admission is atomic: one write transaction checks the PBX's 429 pause, the duplicate guard and
both budgets, and logs the attempt as held or pending, so two processes on one file (a rolling
deploy) can never both admit the same call or overspend a budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from bot.domain.outcomes import Outcome, may_have_rung
from bot.domain.rates import Rate
from bot.store.database import Database, Part
from bot.store.errors import guarded
from bot.store.processes import PENDING_LIMIT_SECONDS, SLOW_WRITE_SECONDS
from bot.store.timestamps import iso

#: The same user calling the same destination within this many seconds of a call that may
#: have rung is held as a duplicate.
DUPLICATE_WINDOW_SECONDS = 10.0
PENDING = Outcome.PENDING.value
PLACED = Outcome.PLACED.value
#: Ended calls that may have rung the phones (placed, or an answer we could not read): a
#: repeat within the duplicate window is held, so nobody is rung twice by accident.
MAY_HAVE_RUNG = may_have_rung()
#: The calls the PBX budget counts: every one sent (or that may have been).
PBX_SPENT = "sent = 1"


@dataclass(frozen=True)
class CallRecord:
    """One row of the audit log."""

    id: int
    at: float
    user_id: str
    extension: str | None
    destination: str | None
    surface: str
    outcome: str
    pbx_status: int | None
    latency_ms: int | None
    detail: str | None
    typed: str | None = None
    #: The caller's answer to "did it ring?" (bot.domain.answers), when they gave one.
    answer: str | None = None

    @property
    def at_utc(self) -> str:
        """When it happened, as an ISO-8601 UTC timestamp."""
        return iso(self.at)


@dataclass(frozen=True)
class Reserved:
    """A call slot was taken in the log; `call_id` is the row to finish when the PBX answers."""

    call_id: int


@dataclass(frozen=True)
class Held:
    """The call may not be sent now: `reason` is duplicate, may_still_ring, user_rate, pbx_rate
    or pbx_cooldown (the outcome is "held_" + reason)."""

    reason: str
    wait_seconds: int


def _record(row: dict) -> CallRecord:
    return CallRecord(
        id=row["id"],
        at=row["at"],
        user_id=row["user_id"],
        extension=row["extension"],
        destination=row["destination"],
        surface=row["surface"],
        outcome=row["outcome"],
        pbx_status=row["pbx_status"],
        latency_ms=row["latency_ms"],
        detail=row["detail"],
        typed=row.get("typed"),
        answer=row.get("answer"),
    )


class CallLedger(Part):
    """Write and read the audit log; admit a call only if the guard and budgets allow it."""

    def __init__(self, database: Database, owner: str) -> None:
        super().__init__(database)
        #: Names this process on the calls it places (see bot.store.processes).
        self._owner = owner

    def _insert_call(self, db: sqlite_utils.Database, now: float, **fields: object) -> int:
        # Plain SQL: sqlite_utils' insert() adds a sqlite_master lookup and a savepoint per row.
        row = {"at": now, "at_utc": iso(now), "sent": 0, **fields}
        columns = ", ".join(row)
        marks = ", ".join(["?"] * len(row))
        sql = f"INSERT INTO calls ({columns}) VALUES ({marks})"
        return db.execute(sql, list(row.values())).lastrowid

    @guarded
    def record_refusal(
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
        with self._database.writing() as db:
            return self._insert_call(
                db,
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
    def reserve(
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
        with self._database.writing() as db:
            now = self._now()
            attempt = {
                "user_id": user_id,
                "extension": extension,
                "destination": destination,
                "typed": typed[:200] if typed else None,
                "surface": surface,
            }
            held = self._hold_reason(db, now, user_id, destination, user_rate, pbx_rate)
            if held is not None:
                why = f"wait {held.wait_seconds}s" + (f"; {detail}" if detail else "")
                self._insert_call(db, now, **attempt, outcome=f"held_{held.reason}", detail=why)
                return held
            call_id = self._insert_call(
                db, now, **attempt, outcome=PENDING, sent=1, detail=detail[:500], owner=self._owner
            )
            return Reserved(call_id)

    def _hold_reason(
        self,
        db: sqlite_utils.Database,
        now: float,
        user_id: str,
        destination: str,
        user_rate: Rate,
        pbx_rate: Rate,
    ) -> Held | None:
        cooldown = db.execute("SELECT value FROM pbx_state WHERE key = 'blocked_until'").fetchone()
        if cooldown and cooldown[0] > now:
            return Held("pbx_cooldown", _ceil(cooldown[0] - now))
        held = _duplicate_hold(db, now, user_id, destination)
        if held is not None:
            return held
        wait = _budget_wait(db, now, user_rate, "user_id = ? AND sent = 1", [user_id])
        if wait is not None:
            return Held("user_rate", wait)
        wait = _budget_wait(db, now, pbx_rate, PBX_SPENT, [])
        if wait is not None:
            return Held("pbx_rate", wait)
        return None

    @guarded
    def pbx_budget_left(self, pbx_rate: Rate) -> int:
        """Requests the PBX budget still allows in its current window (read for the metrics)."""
        used = _budget_used(self._database.connection(), self._now(), pbx_rate, PBX_SPENT, [])
        return max(0, pbx_rate.count - used)

    @guarded
    def finish(
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
        # Plain SQL, once per call: sqlite_utils' update() reads the table's schema and the
        # row first.
        with self._database.writing(wait=SLOW_WRITE_SECONDS) as db:
            db.execute(
                "UPDATE calls SET outcome = ?, sent = ?, pbx_status = ?, latency_ms = ?,"
                " detail = ?, finished_at = ? WHERE id = ?",
                [
                    outcome,
                    int(sent),
                    pbx_status,
                    latency_ms,
                    detail[:500],
                    self._now() if finished_at is None else finished_at,
                    call_id,
                ],
            )

    @guarded
    def pause_pbx(self, seconds: float) -> None:
        """Remember that the PBX asked us to stop (429) for `seconds` from now."""
        self.block_pbx_until(self._now() + seconds)

    @guarded
    def block_pbx_until(self, until: float) -> None:
        """Remember that the PBX asked us to stop (429) until `until`, across restarts."""
        with self._database.writing(wait=SLOW_WRITE_SECONDS) as db:
            db["pbx_state"].upsert({"key": "blocked_until", "value": until}, pk="key")

    @guarded
    def recent(self, *, user_id: str | None = None, limit: int = 20) -> list[CallRecord]:
        """The newest audit rows, optionally for one user."""
        where, args = ("user_id = ?", [user_id]) if user_id else (None, [])
        rows = self._database.connection()["calls"].rows_where(
            where, args, order_by="at desc, id desc", limit=limit
        )
        return [_record(row) for row in rows]

    @guarded
    def recent_with_outcomes(
        self, outcomes: tuple[str, ...], *, limit: int = 5
    ) -> list[CallRecord]:
        """The newest audit rows whose outcome is one of `outcomes` (e.g. failures)."""
        marks = ", ".join("?" for _ in outcomes)
        rows = self._database.connection()["calls"].rows_where(
            f"outcome IN ({marks})", list(outcomes), order_by="at desc, id desc", limit=limit
        )
        return [_record(row) for row in rows]

    @guarded
    def prune(self, older_than_days: int) -> int:
        """Delete audit rows older than the retention period; answer how many went."""
        cutoff = self._now() - older_than_days * 86400
        with self._database.writing(wait=SLOW_WRITE_SECONDS) as db:
            return db.execute("DELETE FROM calls WHERE at < ?", [cutoff]).rowcount


def _duplicate_hold(
    db: sqlite_utils.Database, now: float, user_id: str, destination: str
) -> Held | None:
    """How long a repeat of this call must wait, and why; None when it is not a duplicate.

    A call still with the PBX, or one placed in the window, is "duplicate" (the phones should
    be ringing); one that failed in a way that may still ring is "may_still_ring".
    """
    in_flight = db.execute(
        "SELECT 1 FROM calls WHERE user_id = ? AND destination = ? AND outcome = ? AND at > ?",
        [user_id, destination, PENDING, now - PENDING_LIMIT_SECONDS],
    ).fetchone()
    if in_flight:
        return Held("duplicate", _ceil(DUPLICATE_WINDOW_SECONDS))
    marks = ", ".join("?" for _ in MAY_HAVE_RUNG)
    last = db.execute(
        "SELECT coalesce(finished_at, at) AS ended, outcome FROM calls WHERE user_id = ?"
        f" AND destination = ? AND outcome IN ({marks}) AND at > ? ORDER BY ended DESC LIMIT 1",
        [user_id, destination, *MAY_HAVE_RUNG, now - PENDING_LIMIT_SECONDS],
    ).fetchone()
    if last is None or last[0] <= now - DUPLICATE_WINDOW_SECONDS:
        return None
    reason = "duplicate" if last[1] == PLACED else "may_still_ring"
    return Held(reason, _ceil(last[0] + DUPLICATE_WINDOW_SECONDS - now))


def _ceil(seconds: float) -> int:
    return max(1, int(seconds + 0.999))


def _budget_used(db: sqlite_utils.Database, now: float, rate: Rate, where: str, args: list) -> int:
    """How many of the budget's requests the current window has spent."""
    used = db.execute(
        f"SELECT count(*) FROM calls WHERE {where} AND at > ?", [*args, now - rate.seconds]
    )
    return used.fetchone()[0]


def _budget_wait(
    db: sqlite_utils.Database, now: float, rate: Rate, where: str, args: list
) -> int | None:
    """Seconds until the window frees a slot, or None when the budget is not spent."""
    since = now - rate.seconds
    if _budget_used(db, now, rate, where, args) < rate.count:
        return None
    oldest = db.execute(
        f"SELECT at FROM calls WHERE {where} AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?",
        [*args, since, rate.count - 1],
    ).fetchone()[0]
    return _ceil(oldest + rate.seconds - now)
