"""psycopg's errors as the store's own (StoreBusy, StoreFailed), with the password scrubbed.

A driver's message may quote the connection string; every message made here names
DIALER_DATABASE_URL by its address alone (user, host, port, database) and has any password cut.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import PoolTimeout

from bot.config import database_passwords
from bot.logs import scrub
from bot.store.errors import StoreBusy, StoreError, StoreFailed

#: SQLSTATEs that mean "another transaction was in the way": try again later.
_BUSY = (
    pg_errors.LockNotAvailable,
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.QueryCanceled,  # lock_timeout or statement_timeout
    pg_errors.TooManyConnections,
)


class PgFailed(StoreFailed):
    """PostgreSQL can't be used: read-only (a standby), full, or failing (unreachable, refused).

    `str()` is the operator's log line naming DIALER_DATABASE_URL (without its password).
    """

    def __init__(self, message: str, cause: str) -> None:
        StoreError.__init__(self, message)
        self.cause = cause


def shown(url: str) -> str:
    """The connection string without its password, to name the database in a sentence."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        host = parts.netloc.rpartition("@")
        user = host[0].partition(":")[0]
        netloc = f"{user}@{host[2]}" if host[1] else host[2]
        query = "&".join(
            pair for pair in parts.query.split("&") if not pair.lower().startswith("password=")
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    try:
        pairs = conninfo_to_dict(url)
    except psycopg.Error:
        return "(unreadable connection string)"
    return " ".join(f"{key}={value}" for key, value in pairs.items() if key != "password")


class Scrubber:
    """Makes the store's errors from psycopg's, without the password in any of them."""

    def __init__(self, url: str) -> None:
        self.shown = shown(url)
        secrets: list[str] = [url, *database_passwords(url)]
        try:
            password = conninfo_to_dict(url).get("password")
        except psycopg.Error:
            password = None
        if password:
            secrets.append(str(password))
        self._secrets: tuple[str, ...] = tuple(secrets)

    def detail(self, error: BaseException) -> str:
        """The error's own words on one line, at most 200 characters, with secrets cut."""
        words = " ".join(scrub(str(error), self._secrets).split())
        return words[:200] or type(error).__name__

    def failure(self, error: BaseException, *, pool_empty: bool = False) -> StoreError:
        """StoreBusy when another transaction was in the way, else StoreFailed saying why."""
        detail = self.detail(error)
        if isinstance(error, PoolTimeout) and not pool_empty:
            return StoreBusy("every connection to DIALER_DATABASE_URL stayed busy past our wait")
        if isinstance(error, _BUSY):
            return StoreBusy(f"the database is locked by another writer ({detail})")
        if isinstance(error, pg_errors.ReadOnlySqlTransaction):
            return PgFailed(
                f"DIALER_DATABASE_URL is read-only ({detail}): check that {self.shown} is the "
                "primary server, not a standby",
                "read-only",
            )
        if isinstance(error, pg_errors.DiskFull):
            return PgFailed(
                f"the disk holding DIALER_DATABASE_URL's database is full ({detail}): "
                "free some space on the server",
                "full",
            )
        return PgFailed(
            f"DIALER_DATABASE_URL {self.shown} can't be used ({detail}): check that the server "
            "is up and reachable and the user, password and database are right",
            "failing",
        )


class HasScrubber(Protocol):
    """What `guarded` needs of the part whose methods it wraps."""

    @property
    def scrubber(self) -> Scrubber: ...

    def pool_empty(self) -> bool: ...


_G = TypeVar("_G", bound=HasScrubber)
_P = ParamSpec("_P")
_T = TypeVar("_T")


def guarded(
    method: Callable[Concatenate[_G, _P], Awaitable[_T]],
) -> Callable[Concatenate[_G, _P], Awaitable[_T]]:
    """Turn psycopg's errors into StoreBusy or StoreFailed, their messages scrubbed.

    The original is not chained (`from None`): its message, or its traceback in a log, could
    carry the connection string.
    """

    @functools.wraps(method)
    async def wrapper(self: _G, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(self, *args, **kwargs)
        except StoreError:
            raise
        except (psycopg.Error, OSError) as error:
            failure = self.scrubber.failure(error, pool_empty=self.pool_empty())
        raise failure from None

    return wrapper
