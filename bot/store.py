"""Links and the call log in SQLite: the only state the bot keeps, so it survives restarts."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot import outcomes
from bot.config import Rate
from bot.outcomes import Outcome

DUPLICATE_WINDOW_SECONDS = 10.0
WRITE_WAIT_SECONDS = 2.0
#: How long a handled request's identity is kept: past Slack's 5-minute signature window, and
#: past its last retry, so neither a replay nor a redelivery is acted on twice.
HANDLED_KEEP_SECONDS = 900.0

PENDING = Outcome.PENDING.value
PLACED = Outcome.PLACED.value
#: Ended calls that may have rung the phones (placed, or an answer we could not read): a
#: repeat within the duplicate window is held, so nobody is rung twice by accident.
MAY_HAVE_RUNG = outcomes.may_have_rung()
#: A call still waiting on the PBX blocks a repeat, however slow the PBX (up to this long).
PENDING_LIMIT_SECONDS = 300.0
#: The calls the PBX budget counts: every one sent (or that may have been).
PBX_SPENT = "sent = 1"

migrations = Migrations("webfones-dialer")


@migrations()
def m001_links_and_calls(db: sqlite_utils.Database) -> None:
    """Links keyed by Slack user ID, the audit log of every attempt, and PBX state."""
    db["links"].create(
        {"user_id": str, "extension": str, "linked_by": str, "linked_at": str}, pk="user_id"
    )
    db["links"].create_index(["extension"])
    db["calls"].create(
        {
            "id": int,
            "at": float,
            "at_utc": str,
            "user_id": str,
            "extension": str,
            "destination": str,
            "surface": str,
            "outcome": str,
            "sent": int,
            "pbx_status": int,
            "latency_ms": int,
            "detail": str,
        },
        pk="id",
        not_null={"at", "user_id", "outcome", "sent"},
    )
    db["calls"].create_index(["at"])
    db["calls"].create_index(["user_id", "at"])
    db["calls"].create_index(["sent", "at"])
    db["pbx_state"].create({"key": str, "value": float}, pk="key")


@migrations()
def m002_finished_at(db: sqlite_utils.Database) -> None:
    """When each call ended: the duplicate window runs from the end, not the start."""
    db["calls"].add_column("finished_at", float)


@migrations()
def m003_typed(db: sqlite_utils.Database) -> None:
    """What the user typed, beside the destination it was read as (E.164 when it was a number)."""
    db["calls"].add_column("typed", str)


@migrations()
def m004_handled(db: sqlite_utils.Database) -> None:
    """Identities of Slack requests already acted on, so a replay or a retry acts no more."""
    db["handled"].create({"key": str, "at": float}, pk="key")
    db["handled"].create_index(["at"])


class StoreBusy(Exception):
    """The database stayed locked by another writer past our wait; nothing was written."""


class WouldWait(StoreBusy):
    """A write inside Store.without_waiting() would have had to wait; nothing was written."""


@dataclass(frozen=True)
class Link:
    """One Slack user's PBX extension."""

    user_id: str
    extension: str
    linked_by: str
    linked_at: str


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

    @property
    def at_utc(self) -> str:
        """When it happened, as an ISO-8601 UTC timestamp."""
        return _iso(self.at)


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


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
    )


class Store:
    """Thread-safe access to the SQLite file: readers run freely, writers take turns."""

    def __init__(self, path: str, *, clock=time.time) -> None:
        self.path = path
        self._clock = clock
        self._local = threading.local()
        self._write_lock = threading.Lock()
        db = self._db()
        db.enable_wal()
        db.execute("PRAGMA synchronous=NORMAL")
        migrations.apply(db)

    def _db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(
                self.path, timeout=WRITE_WAIT_SECONDS, isolation_level=None, check_same_thread=True
            )
            conn.execute("PRAGMA foreign_keys=ON")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """In this block (this thread only), a write that would wait raises WouldWait at once."""
        self._local.no_wait = True
        try:
            yield
        finally:
            self._local.no_wait = False

    @contextmanager
    def _writing(self, wait: float = WRITE_WAIT_SECONDS) -> Iterator[sqlite_utils.Database]:
        """One write transaction at a time, giving up with StoreBusy after `wait` seconds."""
        busy: type[StoreBusy] = StoreBusy
        if getattr(self._local, "no_wait", False):
            wait, busy = 0.0, WouldWait
        deadline = time.monotonic() + wait
        if not self._write_lock.acquire(timeout=wait):
            raise busy("another write held the database too long")
        try:
            db = self._db()
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            db.execute(f"PRAGMA busy_timeout={remaining_ms}")
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise busy("the database is locked by another writer") from error
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")
            finally:
                # Reads on this connection wait as usual again (a no-wait write set it to 0).
                db.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
        finally:
            self._write_lock.release()

    def settle_interrupted(self) -> int:
        """Mark calls left 'pending' by a crash as interrupted; they still count as sent."""
        with self._writing(wait=30.0) as db:
            return db.execute(
                "UPDATE calls SET outcome = 'interrupted', detail = 'the bot stopped mid-call'"
                " WHERE outcome = ?",
                [PENDING],
            ).rowcount

    def check(self) -> str:
        """Answer the integrity check result ('ok' when healthy); raise when unusable."""
        return self._db().execute("PRAGMA quick_check").fetchone()[0]

    # --- links -------------------------------------------------------------------------

    def get_link(self, user_id: str) -> Link | None:
        """The extension linked to a Slack user, if any."""
        # Read on every dial: plain SQL, as sqlite_utils' rows_where also reads sqlite_master.
        sql = "SELECT user_id, extension, linked_by, linked_at FROM links WHERE user_id = ?"
        row = self._db().execute(sql, [user_id]).fetchone()
        return Link(*row) if row else None

    def users_with_extension(self, extension: str) -> list[str]:
        """Slack user IDs linked to an extension (normally one)."""
        rows = self._db().execute(
            "SELECT user_id FROM links WHERE extension = ? ORDER BY user_id", [extension]
        )
        return [row[0] for row in rows]

    def list_links(self) -> list[Link]:
        """Every link, by extension."""
        return [Link(**row) for row in self._db()["links"].rows_where(order_by="extension")]

    def count_links(self) -> int:
        """How many users are linked."""
        return self._db()["links"].count

    def set_link(self, user_id: str, extension: str, linked_by: str) -> Link | None:
        """Link or re-link a user; answer the link it replaced, if any."""
        with self._writing() as db:
            rows = list(db["links"].rows_where("user_id = ?", [user_id]))
            db["links"].upsert(
                {
                    "user_id": user_id,
                    "extension": extension,
                    "linked_by": linked_by,
                    "linked_at": _iso(self._clock()),
                },
                pk="user_id",
            )
        return Link(**rows[0]) if rows else None

    def remove_link(self, user_id: str) -> Link | None:
        """Unlink a user; answer the link removed, or None when there was none."""
        with self._writing() as db:
            rows = list(db["links"].rows_where("user_id = ?", [user_id]))
            if rows:
                db.execute("DELETE FROM links WHERE user_id = ?", [user_id])
        return Link(**rows[0]) if rows else None

    # --- requests already handled -----------------------------------------------------------

    def claim(self, key: str, *, keep_seconds: float = HANDLED_KEEP_SECONDS) -> bool:
        """Record that the request named `key` is being acted on; False if one already was.

        The check and the record are one transaction, so two processes on one file (a rolling
        deploy) cannot both claim the same request.
        """
        with self._writing() as db:
            now = self._clock()
            db.execute("DELETE FROM handled WHERE at < ?", [now - keep_seconds])
            inserted = db.execute(
                "INSERT OR IGNORE INTO handled (key, at) VALUES (?, ?)", [key, now]
            )
            return inserted.rowcount == 1

    # --- the call log and the budgets counted from it -------------------------------------

    def _insert_call(self, db: sqlite_utils.Database, now: float, **fields: object) -> int:
        # Plain SQL: sqlite_utils' insert() adds a sqlite_master lookup and a savepoint per row.
        row = {"at": now, "at_utc": _iso(now), "sent": 0, **fields}
        columns = ", ".join(row)
        marks = ", ".join(["?"] * len(row))
        sql = f"INSERT INTO calls ({columns}) VALUES ({marks})"
        return db.execute(sql, list(row.values())).lastrowid

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
        with self._writing() as db:
            return self._insert_call(
                db,
                self._clock(),
                user_id=user_id,
                extension=extension,
                destination=destination,
                typed=typed,
                surface=surface,
                outcome=outcome,
                detail=detail[:500],
            )

    def reserve_call(
        self,
        user_id: str,
        *,
        extension: str,
        destination: str,
        surface: str,
        user_rate: Rate,
        pbx_rate: Rate,
        detail: str = "",
    ) -> Reserved | Held:
        """Atomically check the duplicate guard and both budgets, then log a pending call."""
        with self._writing() as db:
            now = self._clock()
            attempt = {
                "user_id": user_id,
                "extension": extension,
                "destination": destination,
                "surface": surface,
            }
            held = self._hold_reason(db, now, user_id, destination, user_rate, pbx_rate)
            if held is not None:
                why = f"wait {held.wait_seconds}s" + (f"; {detail}" if detail else "")
                self._insert_call(db, now, **attempt, outcome=f"held_{held.reason}", detail=why)
                return held
            call_id = self._insert_call(
                db, now, **attempt, outcome=PENDING, sent=1, detail=detail[:500]
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

    def pbx_budget_left(self, pbx_rate: Rate) -> int:
        """Requests the PBX budget still allows in its current window (read for the metrics)."""
        used = _budget_used(self._db(), self._clock(), pbx_rate, PBX_SPENT, [])
        return max(0, pbx_rate.count - used)

    def finish_call(
        self,
        call_id: int,
        *,
        outcome: str,
        sent: bool,
        pbx_status: int | None,
        latency_ms: int,
        detail: str = "",
    ) -> None:
        """Record how a reserved call ended."""
        with self._writing(wait=30.0) as db:
            db["calls"].update(
                call_id,
                {
                    "outcome": outcome,
                    "sent": int(sent),
                    "pbx_status": pbx_status,
                    "latency_ms": latency_ms,
                    "detail": detail[:500],
                    "finished_at": self._clock(),
                },
            )

    def block_pbx_until(self, until: float) -> None:
        """Remember that the PBX asked us to stop (429) until `until`, across restarts."""
        with self._writing(wait=30.0) as db:
            db["pbx_state"].upsert({"key": "blocked_until", "value": until}, pk="key")

    def recent_calls(self, *, user_id: str | None = None, limit: int = 20) -> list[CallRecord]:
        """The newest audit rows, optionally for one user."""
        where, args = ("user_id = ?", [user_id]) if user_id else (None, [])
        rows = self._db()["calls"].rows_where(where, args, order_by="at desc, id desc", limit=limit)
        return [_record(row) for row in rows]

    def recent_calls_with_outcomes(
        self, outcomes: tuple[str, ...], *, limit: int = 5
    ) -> list[CallRecord]:
        """The newest audit rows whose outcome is one of `outcomes` (e.g. failures)."""
        marks = ", ".join("?" for _ in outcomes)
        rows = self._db()["calls"].rows_where(
            f"outcome IN ({marks})", list(outcomes), order_by="at desc, id desc", limit=limit
        )
        return [_record(row) for row in rows]

    def prune_calls(self, older_than_days: int) -> int:
        """Delete audit rows older than the retention period; answer how many went."""
        cutoff = self._clock() - older_than_days * 86400
        with self._writing(wait=30.0) as db:
            return db.execute("DELETE FROM calls WHERE at < ?", [cutoff]).rowcount

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None


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
