"""The SQLite file: one connection per thread, one writer at a time, and its schema applied.

Every part of the store (links, the call ledger, request claims, processes) shares one
`Database`: readers run freely on their thread's connection; writers take turns through
`writing()`, which gives up with StoreBusy rather than wait past a deadline.

The file holds phone numbers and who called whom: it is created 0600 (its -wal and -shm take
the same mode from SQLite), every commit is flushed to disk before a user is told about it,
and a file deleted or replaced under the running process is noticed before the next write
(`same_file`), never written into unseen. A commit is flushed by SQLite itself
(`synchronous=FULL`), or, with `group_commit`, by `sync()`: one flush, off the event loop,
covers every commit made before it (bot.store.group_commit).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import sqlite_utils

from bot.store.errors import StoreBusy, StoreFailed, WouldWait, guarded, is_locked
from bot.store.migrations import migrations

WRITE_WAIT_SECONDS = 2.0
#: SQLite's side files in WAL mode: they hold recent writes and must be as private as the file.
SIDE_FILES = ("-wal", "-shm")
#: Read or write permission for the group or others: a database file should give neither.
OPEN_TO_OTHERS = 0o066


@dataclass(frozen=True)
class Health:
    """What this process knows of its database, without asking the disk anything slow.

    `problem` is None when healthy, else "read-only", "full", "failing" (the last write
    failed), "replaced" (DIALER_DB is no longer the file opened) or "stale" (the heartbeat
    stopped); `detail` is the operator's line; `heartbeat_age` is seconds since the last beat.
    """

    problem: str | None
    detail: str
    heartbeat_age: float | None

    @property
    def ok(self) -> bool:
        """Whether the process can record calls, as far as it knows."""
        return self.problem is None


def files_of(path: str) -> list[str]:
    """The database file and its side files, as paths (whether they exist or not)."""
    return [path + suffix for suffix in ("", *SIDE_FILES)]


def open_to_others(path: str) -> list[tuple[str, int]]:
    """The database's existing files (file, -wal, -shm) that others may read or write, with
    their modes."""
    found = []
    for name in files_of(path):
        with suppress(OSError):
            mode = os.stat(name).st_mode & 0o777
            if mode & OPEN_TO_OTHERS:
                found.append((name, mode))
    return found


def create_private(path: str) -> None:
    """Create DIALER_DB empty and 0600 if it does not exist, whatever the umask.

    SQLite creates a new file with the umask's mode (0644 under the usual 022) and gives its
    -wal and -shm the file's own mode: a file made private here keeps all three private. An
    error is left for SQLite to report in its own words when it opens the file.
    """
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # there already, or not creatable: SQLite opens it (or says why not)
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken the owner's bits away
    finally:
        os.close(fd)


def _side_files_as_private(path: str) -> None:
    """Side files left by an older run get no more access than the database file itself."""
    try:
        allowed = os.stat(path).st_mode & 0o777
    except OSError:
        return
    for side in files_of(path)[1:]:
        with suppress(OSError):
            mode = os.stat(side).st_mode & 0o777
            if mode & ~allowed:
                os.chmod(side, mode & allowed)


class Database:
    """Thread-safe access to the SQLite file: readers run freely, writers take turns."""

    def __init__(
        self, path: str, *, clock: Callable[[], float] = time.time, group_commit: bool = False
    ) -> None:
        self.path = path
        #: Wall-clock seconds: the audit log's times and every window counted from them.
        self.clock = clock
        #: Commits are not flushed one by one (synchronous=NORMAL): whoever reports a write
        #: calls sync() first, and one flush covers every commit made before it.
        self.group_commit = group_commit
        self._local = threading.local()
        self._write_lock = threading.Lock()
        #: Commits made so far, by every thread (counted under the write lock).
        self._commits = 0
        self._sync_lock = threading.Lock()
        #: The -wal file sync() flushes, opened once: (its descriptor, its (st_dev, st_ino)).
        self._wal: tuple[int, tuple[int, int]] | None = None
        #: (st_dev, st_ino) of the file opened: a different answer later means it was replaced.
        self._identity: tuple[int, int] | None = None
        self._replaced: str | None = None
        #: The last write's failure (None once a write succeeds), and the last heartbeat.
        self._write_failure: StoreFailed | None = None
        self._last_beat: float | None = None
        create_private(path)
        try:
            db = self.connection()
            db.enable_wal()
            migrations.apply(db)
        except sqlite3.Error as error:
            self.close()
            if is_locked(error):
                raise StoreBusy("the database is locked by another writer") from error
            raise StoreFailed.at_open(error) from error
        _side_files_as_private(path)
        self._identity = _identity(path)

    def same_file(self) -> None:
        """Raise StoreFailed ("replaced") if DIALER_DB no longer names the file opened.

        One stat(), cheap enough before every write: a file deleted, moved or replaced under
        the running bot would otherwise take writes that vanish at the next restart.
        """
        if self._replaced is None and self._identity is not None:
            try:
                now = os.stat(self.path)
            except FileNotFoundError:
                self._replaced = "deleted or moved"
            except OSError:
                return  # can't tell (say, a directory made unreadable): the write will say
            else:
                if (now.st_dev, now.st_ino) != self._identity:
                    self._replaced = "replaced by another file"
        if self._replaced is not None:
            raise StoreFailed.replaced(os.path.abspath(self.path), self._replaced)

    def connection(self) -> sqlite_utils.Database:
        """This thread's connection, opened on first use (never on a file that was replaced)."""
        db = getattr(self._local, "db", None)
        if db is None:
            # Connecting to a deleted DIALER_DB would create an empty file in its place.
            self.same_file()
            conn = sqlite3.connect(
                self.path, timeout=WRITE_WAIT_SECONDS, isolation_level=None, check_same_thread=True
            )
            try:
                conn.execute("PRAGMA foreign_keys=ON")
                # Each commit reaches the disk before a user is told about it (NORMAL alone can
                # lose the last ones when the machine or its disk stops): flushed by SQLite at
                # each commit, or by sync() for a group of them.
                flush = "NORMAL" if self.group_commit else "FULL"
                conn.execute(f"PRAGMA synchronous={flush}")
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
        self.same_file()
        if not self._write_lock.acquire(timeout=wait):
            raise busy("another write held the database too long")
        try:
            db = self.connection()
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            db.execute(f"PRAGMA busy_timeout={remaining_ms}")
            try:
                yield from _transaction(db, busy)
                self._commits += 1  # under the write lock: one writer at a time
                self._local.commit = self._commits
            finally:
                # Reads on this connection wait as usual again (a no-wait write set it to 0).
                with suppress(sqlite3.Error):
                    db.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # a bug in our SQL says nothing about the disk
        except sqlite3.Error as error:
            if not is_locked(error):
                self._write_failure = StoreFailed(error)
            raise
        else:
            self._write_failure = None
        finally:
            self._write_lock.release()

    def last_commit(self) -> int:
        """The number of this thread's last commit (0 before any): sync() answers which it
        covered."""
        return getattr(self._local, "commit", 0)

    def sync(self) -> int:
        """Flush every commit made so far to the disk; answer the last commit it covers.

        With `group_commit` a commit is in the -wal file (the OS's cache) but not yet on the
        disk: one fsync of that file, made on any thread, makes every earlier commit durable.
        Raises StoreFailed (and marks the store failing) when the disk refuses.
        """
        with self._sync_lock:
            covered = self._commits
            try:
                fd = self._wal_descriptor()
                if fd is not None:
                    os.fsync(fd)
            except OSError as error:
                self._close_wal()
                failure = StoreFailed(error)
                self._write_failure = failure
                raise failure from error
            return covered

    def _wal_descriptor(self) -> int | None:
        """The open -wal file (reopened if SQLite made a new one); None when there is none."""
        wal_path = self.path + SIDE_FILES[0]
        try:
            now = os.stat(wal_path)
        except FileNotFoundError:
            # No -wal (or no file: ":memory:"): the last connection to close checkpointed the
            # commits into the database file, and SQLite flushed it then.
            self._close_wal()
            return None
        if self._wal is not None and self._wal[1] == (now.st_dev, now.st_ino):
            return self._wal[0]
        self._close_wal()
        fd = os.open(wal_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        found = os.fstat(fd)
        self._wal = (fd, (found.st_dev, found.st_ino))
        return fd

    def _close_wal(self) -> None:
        if self._wal is not None:
            with suppress(OSError):
                os.close(self._wal[0])
            self._wal = None

    def beat(self) -> None:
        """Note that this process's heartbeat was just written (for health())."""
        self._last_beat = time.monotonic()

    def health(self, stale_after: float) -> Health:
        """Whether writes work, as far as this process knows: no query, one stat() at most.

        Unhealthy when DIALER_DB was replaced, the last write failed (read-only, full,
        failing), or the heartbeat is older than `stale_after` seconds.
        """
        age = None if self._last_beat is None else time.monotonic() - self._last_beat
        try:
            self.same_file()
        except StoreFailed as replaced:
            return Health("replaced", str(replaced), age)
        failure = self._write_failure
        if failure is not None:
            return Health(failure.cause, str(failure), age)
        if age is not None and age > stale_after:
            detail = f"this process's heartbeat was last written {age:.0f} s ago"
            return Health("stale", detail, age)
        return Health(None, "ok", age)

    @guarded
    def check(self) -> str:
        """Answer the integrity check result ('ok' when healthy); raise when unusable."""
        return self.connection().execute("PRAGMA quick_check").fetchone()[0]

    @guarded
    def probe_write(self, wait: float = WRITE_WAIT_SECONDS) -> None:
        """Commit a write that leaves nothing behind; raise StoreError when writes fail.

        The row is added and removed in one transaction, yet its page still goes to the
        -wal and is flushed: a full disk or a read-only file fails this as it would fail a
        call's record (a rolled-back write never reaches the disk, so it would prove nothing).
        """
        with self.writing(wait=wait) as db:
            db.execute("INSERT OR REPLACE INTO pbx_state (key, value) VALUES ('write probe', 0)")
            db.execute("DELETE FROM pbx_state WHERE key = 'write probe'")

    def close(self) -> None:
        """Close this thread's connection (the next call on this thread opens a fresh one)."""
        if self.group_commit:
            with suppress(StoreFailed):  # a commit nobody was told of yet, made durable now
                self.sync()
            with self._sync_lock:
                self._close_wal()
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with suppress(sqlite3.Error):
                db.conn.close()


def _identity(path: str) -> tuple[int, int] | None:
    """The file's (st_dev, st_ino), or None for a database with no file of its own."""
    try:
        found = os.stat(path)
    except OSError:
        return None  # ":memory:" or a URI: nothing to watch
    return found.st_dev, found.st_ino


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
