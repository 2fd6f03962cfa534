"""The SQLite file: one connection per thread, one writer at a time, and its schema applied.

Every part of the store (links, the call ledger, request claims, processes) shares one
`Database`: readers run freely on their thread's connection; writers take turns through
`writing()`, which gives up with StoreBusy rather than wait past a deadline.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import sqlite_utils

from bot.store.errors import StoreBusy, StoreFailed, WouldWait, guarded, is_locked
from bot.store.migrations import migrations

WRITE_WAIT_SECONDS = 2.0


class Database:
    """Thread-safe access to the SQLite file: readers run freely, writers take turns."""

    def __init__(self, path: str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        #: Wall-clock seconds: the audit log's times and every window counted from them.
        self.clock = clock
        self._local = threading.local()
        self._write_lock = threading.Lock()
        try:
            db = self.connection()
            db.enable_wal()
            migrations.apply(db)
        except sqlite3.Error as error:
            self.close()
            if is_locked(error):
                raise StoreBusy("the database is locked by another writer") from error
            raise StoreFailed.at_open(error) from error

    def connection(self) -> sqlite_utils.Database:
        """This thread's connection, opened on first use."""
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

    def _reset(self) -> None:
        """After a failure: the next call on this thread opens a fresh connection."""
        self.close()

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """In this block (this thread only), a write that would wait raises WouldWait at once."""
        self._local.no_wait = True
        try:
            yield
        finally:
            self._local.no_wait = False

    @contextmanager
    def writing(self, wait: float = WRITE_WAIT_SECONDS) -> Iterator[sqlite_utils.Database]:
        """One write transaction at a time, giving up with StoreBusy after `wait` seconds."""
        busy: type[StoreBusy] = StoreBusy
        if getattr(self._local, "no_wait", False):
            wait, busy = 0.0, WouldWait
        deadline = time.monotonic() + wait
        if not self._write_lock.acquire(timeout=wait):
            raise busy("another write held the database too long")
        try:
            db = self.connection()
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            db.execute(f"PRAGMA busy_timeout={remaining_ms}")
            try:
                yield from _transaction(db, busy)
            finally:
                # Reads on this connection wait as usual again (a no-wait write set it to 0).
                with suppress(sqlite3.Error):
                    db.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
        finally:
            self._write_lock.release()

    @guarded
    def check(self) -> str:
        """Answer the integrity check result ('ok' when healthy); raise when unusable."""
        return self.connection().execute("PRAGMA quick_check").fetchone()[0]

    def close(self) -> None:
        """Close this thread's connection (the next call on this thread opens a fresh one)."""
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with suppress(sqlite3.Error):
                db.conn.close()


def _transaction(
    db: sqlite_utils.Database, busy: type[StoreBusy]
) -> Iterator[sqlite_utils.Database]:
    """BEGIN IMMEDIATE … COMMIT around the caller's writes; rolled back if anything fails."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if is_locked(error):
            raise busy("the database is locked by another writer") from error
        raise  # read-only, full or failing: `guarded` says which
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        # A failed COMMIT (disk full, I/O error) may leave the transaction open.
        if db.conn.in_transaction:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise


class Part:
    """One concern of the store (links, calls, claims, processes) on the shared Database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def _busy(self, why: str) -> StoreBusy:
        return self._database._busy(why)

    def _reset(self) -> None:
        self._database.close()

    def _now(self) -> float:
        return self._database.clock()
