"""The store's one family of errors: busy (locked by another writer) or failed (the disk).

Every store method raises only these (SQLite's own errors are translated where they happen),
so a caller asks one question — busy or failed? — and never looks at SQL errors itself.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar


class StoreError(Exception):
    """The store could not do what was asked; nothing was written."""


class StoreBusy(StoreError):
    """The database stayed locked by another writer past our wait; nothing was written."""


class WouldWait(StoreBusy):
    """A write inside Database.without_waiting() would have had to wait; nothing was written."""


#: SQLite's primary result codes for a file that cannot be written, or a disk with no room.
_READ_ONLY = {3, 8, 23}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH
_FULL = {13}  # SQLITE_FULL
_LOCKED = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
#: The operating system's word for the same: read-only, or full.
_OS_CODES = {errno.EROFS: 8, errno.EACCES: 3, errno.EPERM: 3, errno.ENOSPC: 13, errno.EDQUOT: 13}


class StoreFailed(StoreError):
    """The database can't be used: read-only, full or failing. Nothing was written.

    `str()` is the operator's log line: what happened to DIALER_DB and what to check;
    `cause` is "read-only", "full", "failing", or "replaced" (the file at DIALER_DB is no longer
    the one this process opened).
    """

    def __init__(self, error: sqlite3.Error | OSError) -> None:
        code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
        if isinstance(error, OSError):  # a flush of the file failed (Database.sync)
            code = _OS_CODES.get(error.errno or 0, 0)
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

    @classmethod
    def at_open(cls, error: sqlite3.Error | OSError) -> StoreFailed:
        """The file could not be opened or migrated: its message is SQLite's own words."""
        failed = cls(error)
        failed.args = (" ".join(str(error).split())[:200] or type(error).__name__,)
        return failed

    @classmethod
    def replaced(cls, path: str, how: str) -> StoreFailed:
        """DIALER_DB no longer names the file this process opened (`how`: what became of it)."""
        failed = cls.__new__(cls)
        StoreError.__init__(
            failed,
            f"DIALER_DB {path} was {how} while the bot was running; nothing more is written to "
            "it: restart the bot once the right file is in place",
        )
        failed.cause = "replaced"
        return failed


def is_locked(error: sqlite3.Error) -> bool:
    """Whether SQLite's error means another writer holds the database (not a disk problem)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _LOCKED
    return "locked" in str(error).lower()


class Guarded(Protocol):
    """What `guarded` needs of the object whose methods it wraps."""

    def _busy(self, why: str) -> StoreBusy: ...

    def _reset(self) -> None: ...


_G = TypeVar("_G", bound=Guarded)
_P = ParamSpec("_P")
_T = TypeVar("_T")


def guarded(method: Callable[Concatenate[_G, _P], _T]) -> Callable[Concatenate[_G, _P], _T]:
    """Turn SQLite's errors into StoreBusy (locked) or StoreFailed (read-only, full, failing).

    After a failure this thread's connection is closed, so the next call opens a fresh one:
    a connection that met a read-only or failing file stays that way even once the disk
    recovers.
    """

    @functools.wraps(method)
    def wrapper(self: _G, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        for attempt in (1, 2):
            try:
                return method(self, *args, **kwargs)
            except (StoreError, sqlite3.IntegrityError, sqlite3.ProgrammingError):
                raise  # the last two are bugs in our SQL, not the disk's doing
            except sqlite3.Error as error:
                if is_locked(error):
                    raise self._busy("the database is locked by another writer") from error
                self._reset()
                failed = StoreFailed(error)
                # A connection opened while the file was read-only (say, for a read) stays
                # read-only once the file is writable again: one more try on a fresh one.
                if failed.cause != "read-only" or attempt == 2:
                    raise failed from error
        raise AssertionError("unreachable")

    return wrapper
