"""Links and the call log in SQLite: the only state the bot keeps, so it survives restarts."""

from __future__ import annotations

import functools
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, TypeVar

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.domain import outcomes
from bot.domain.outcomes import Outcome
from bot.domain.rates import Rate

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
#: A claim waits this long at most for another writer: it comes before Slack's 3-second ack,
#: and the write the request itself makes may wait too.
CLAIM_WAIT_SECONDS = 0.3
#: A process whose heartbeat is older than this is gone: its pending calls are settled. Every
#: live process renews its heartbeat every couple of seconds (bot.runtime.lease).
STALE_SECONDS = 15.0

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


@migrations()
def m005_owners(db: sqlite_utils.Database) -> None:
    """Which process placed each call, and which processes are alive: a process starting on
    the same file settles only the calls of processes that are gone (a rolling upgrade)."""
    db["calls"].add_column("owner", str)
    db.execute(f"CREATE INDEX calls_pending ON calls (owner) WHERE outcome = '{PENDING}'")
    db["processes"].create(
        {"owner": str, "pid": int, "host": str, "started_at": float, "heartbeat_at": float},
        pk="owner",
    )


class StoreBusy(Exception):
    """The database stayed locked by another writer past our wait; nothing was written."""


class WouldWait(StoreBusy):
    """A write inside Store.without_waiting() would have had to wait; nothing was written."""


#: SQLite's primary result codes for a file that cannot be written, or a disk with no room.
_READ_ONLY = {3, 8, 23}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH
_FULL = {13}  # SQLITE_FULL
_LOCKED = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED


class StoreFailed(sqlite3.DatabaseError):
    """The database can't be used: read-only, full or failing. Nothing was written.

    `str()` is the operator's log line: what happened to DIALER_DB and what to check.
    """

    def __init__(self, error: sqlite3.Error) -> None:
        code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
        if code in _READ_ONLY:
            self.cause = "read-only"
            advice = "DIALER_DB is read-only ({}): check its permissions and the disk it is on"
        elif code in _FULL:
            self.cause = "full"
            advice = "the disk holding DIALER_DB is full ({}): free some space"
        else:
            self.cause = "failing"
            advice = "DIALER_DB can't be used ({}): check the disk it is on"
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        super().__init__(advice.format(detail))


def _is_locked(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _LOCKED
    return "locked" in str(error).lower()


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _guarded(method: Callable[Concatenate[Store, _P], _T]) -> Callable[Concatenate[Store, _P], _T]:
    """Turn SQLite's errors into StoreBusy (locked) or StoreFailed (read-only, full, failing).

    After a failure this thread's connection is closed, so the next call opens a fresh one:
    a connection that met a read-only or failing file stays that way even once the disk
    recovers.
    """

    @functools.wraps(method)
    def guarded(self: Store, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        for attempt in (1, 2):
            try:
                return method(self, *args, **kwargs)
            except (StoreBusy, StoreFailed, sqlite3.IntegrityError, sqlite3.ProgrammingError):
                raise  # the last two are bugs in our SQL, not the disk's doing
            except sqlite3.Error as error:
                if _is_locked(error):
                    raise self._busy("the database is locked by another writer") from error
                self.close()
                failed = StoreFailed(error)
                # A connection opened while the file was read-only (say, for a read) stays
                # read-only once the file is writable again: one more try on a fresh one.
                if failed.cause != "read-only" or attempt == 2:
                    raise failed from error
        raise AssertionError("unreachable")

    return guarded


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

    def __init__(self, path: str, *, clock=time.time, owner: str | None = None) -> None:
        self.path = path
        #: Names this process in the call log and the `processes` table (see bot.runtime.lease).
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._clock = clock
        self._left = False
        self._local = threading.local()
        self._write_lock = threading.Lock()
        db = self._db()
        db.enable_wal()
        migrations.apply(db)

    def _db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(
                self.path, timeout=WRITE_WAIT_SECONDS, isolation_level=None, check_same_thread=True
            )
            try:
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error:
                conn.close()
                raise
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def _busy(self, why: str) -> StoreBusy:
        """StoreBusy, or WouldWait inside without_waiting() (the runner then retries on a pool)."""
        return WouldWait(why) if getattr(self._local, "no_wait", False) else StoreBusy(why)

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
                yield from self._transaction(db, busy)
            finally:
                # Reads on this connection wait as usual again (a no-wait write set it to 0).
                with suppress(sqlite3.Error):
                    db.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
        finally:
            self._write_lock.release()

    @staticmethod
    def _transaction(
        db: sqlite_utils.Database, busy: type[StoreBusy]
    ) -> Iterator[sqlite_utils.Database]:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if _is_locked(error):
                raise busy("the database is locked by another writer") from error
            raise  # read-only, full or failing: _guarded says which
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (disk full, I/O error) may leave the transaction open.
            if db.conn.in_transaction:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    # --- processes sharing the file ------------------------------------------------------

    @_guarded
    def heartbeat(self) -> None:
        """Say this process is alive: its calls in flight are its own to finish (bot.runtime.lease)."""
        if self._left:
            return  # a beat still on its way after leave() must not bring the row back
        with self._writing(wait=30.0) as db:
            now = self._clock()
            db.execute(
                "INSERT INTO processes (owner, pid, host, started_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                [self.owner, os.getpid(), socket.gethostname(), now, now],
            )

    @_guarded
    def leave(self) -> None:
        """This process is exiting with no call in flight: forget its heartbeat."""
        self._left = True
        with self._writing(wait=30.0) as db:
            db.execute("DELETE FROM processes WHERE owner = ?", [self.owner])

    @_guarded
    def settle_interrupted(self, *, stale_after: float = STALE_SECONDS) -> int:
        """Mark as interrupted the calls left pending by processes that are gone.

        A process is gone when its heartbeat is older than `stale_after` or it left no row;
        a live one (say, draining after SIGTERM in a rolling upgrade) keeps its calls. Calls
        logged before owners were recorded are settled once no process could still be
        waiting on them. Settled calls still count as sent.
        """
        with self._writing(wait=30.0) as db:
            now = self._clock()
            db.execute(
                "DELETE FROM processes WHERE heartbeat_at < ? AND owner != ?",
                [now - stale_after, self.owner],
            )
            return db.execute(
                "UPDATE calls SET outcome = 'interrupted', detail = 'the bot stopped mid-call'"
                f" WHERE outcome = '{PENDING}' AND CASE WHEN owner IS NULL THEN at < ?"
                " ELSE owner != ? AND owner NOT IN (SELECT owner FROM processes) END",
                [now - PENDING_LIMIT_SECONDS, self.owner],
            ).rowcount

    @_guarded
    def check(self) -> str:
        """Answer the integrity check result ('ok' when healthy); raise when unusable."""
        return self._db().execute("PRAGMA quick_check").fetchone()[0]

    # --- links -------------------------------------------------------------------------

    @_guarded
    def get_link(self, user_id: str) -> Link | None:
        """The extension linked to a Slack user, if any."""
        # Read on every dial: plain SQL, as sqlite_utils' rows_where also reads sqlite_master.
        sql = "SELECT user_id, extension, linked_by, linked_at FROM links WHERE user_id = ?"
        row = self._db().execute(sql, [user_id]).fetchone()
        return Link(*row) if row else None

    @_guarded
    def users_with_extension(self, extension: str) -> list[str]:
        """Slack user IDs linked to an extension (normally one)."""
        rows = self._db().execute(
            "SELECT user_id FROM links WHERE extension = ? ORDER BY user_id", [extension]
        )
        return [row[0] for row in rows]

    @_guarded
    def list_links(self) -> list[Link]:
        """Every link, by extension."""
        return [Link(**row) for row in self._db()["links"].rows_where(order_by="extension")]

    @_guarded
    def count_links(self) -> int:
        """How many users are linked."""
        return self._db()["links"].count

    @_guarded
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

    @_guarded
    def remove_link(self, user_id: str) -> Link | None:
        """Unlink a user; answer the link removed, or None when there was none."""
        with self._writing() as db:
            rows = list(db["links"].rows_where("user_id = ?", [user_id]))
            if rows:
                db.execute("DELETE FROM links WHERE user_id = ?", [user_id])
        return Link(**rows[0]) if rows else None

    # --- requests already handled -----------------------------------------------------------

    @_guarded
    def claim(
        self,
        key: str,
        *more_keys: str,
        keep_seconds: float = HANDLED_KEEP_SECONDS,
        wait: float = CLAIM_WAIT_SECONDS,
    ) -> bool:
        """Record that the request named `key` is being acted on; False if one already was.

        A request may have several names (a Socket Mode envelope and the payload it carries):
        it is a repeat if any of them was claimed, and all of them are recorded. The check and
        the record are one transaction, so two processes on one file (a rolling deploy) cannot
        both claim the same request.
        """
        with self._writing(wait=wait) as db:
            now = self._clock()
            db.execute("DELETE FROM handled WHERE at < ?", [now - keep_seconds])
            fresh = True
            for name in (key, *more_keys):
                inserted = db.execute(
                    "INSERT OR IGNORE INTO handled (key, at) VALUES (?, ?)", [name, now]
                )
                fresh = fresh and inserted.rowcount == 1
            return fresh

    # --- the call log and the budgets counted from it -------------------------------------

    def _insert_call(self, db: sqlite_utils.Database, now: float, **fields: object) -> int:
        # Plain SQL: sqlite_utils' insert() adds a sqlite_master lookup and a savepoint per row.
        row = {"at": now, "at_utc": _iso(now), "sent": 0, **fields}
        columns = ", ".join(row)
        marks = ", ".join(["?"] * len(row))
        sql = f"INSERT INTO calls ({columns}) VALUES ({marks})"
        return db.execute(sql, list(row.values())).lastrowid

    @_guarded
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

    @_guarded
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
                db, now, **attempt, outcome=PENDING, sent=1, detail=detail[:500], owner=self.owner
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

    @_guarded
    def pbx_budget_left(self, pbx_rate: Rate) -> int:
        """Requests the PBX budget still allows in its current window (read for the metrics)."""
        used = _budget_used(self._db(), self._clock(), pbx_rate, PBX_SPENT, [])
        return max(0, pbx_rate.count - used)

    @_guarded
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

    @_guarded
    def block_pbx_until(self, until: float) -> None:
        """Remember that the PBX asked us to stop (429) until `until`, across restarts."""
        with self._writing(wait=30.0) as db:
            db["pbx_state"].upsert({"key": "blocked_until", "value": until}, pk="key")

    @_guarded
    def recent_calls(self, *, user_id: str | None = None, limit: int = 20) -> list[CallRecord]:
        """The newest audit rows, optionally for one user."""
        where, args = ("user_id = ?", [user_id]) if user_id else (None, [])
        rows = self._db()["calls"].rows_where(where, args, order_by="at desc, id desc", limit=limit)
        return [_record(row) for row in rows]

    @_guarded
    def recent_calls_with_outcomes(
        self, outcomes: tuple[str, ...], *, limit: int = 5
    ) -> list[CallRecord]:
        """The newest audit rows whose outcome is one of `outcomes` (e.g. failures)."""
        marks = ", ".join("?" for _ in outcomes)
        rows = self._db()["calls"].rows_where(
            f"outcome IN ({marks})", list(outcomes), order_by="at desc, id desc", limit=limit
        )
        return [_record(row) for row in rows]

    @_guarded
    def prune_calls(self, older_than_days: int) -> int:
        """Delete audit rows older than the retention period; answer how many went."""
        cutoff = self._clock() - older_than_days * 86400
        with self._writing(wait=30.0) as db:
            return db.execute("DELETE FROM calls WHERE at < ?", [cutoff]).rowcount

    def close(self) -> None:
        """Close this thread's connection (the next call on this thread opens a fresh one)."""
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with suppress(sqlite3.Error):
                db.conn.close()


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
