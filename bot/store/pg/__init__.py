"""The store on PostgreSQL (DIALER_DATABASE_URL), for replicas on several hosts.

The same parts and methods as the SQLite store (links, calls, claims, processes), answering
the same records, but as coroutines on a psycopg 3 connection pool; StoreRunner awaits them.
psycopg is imported by this package's modules, not here, so that a URL given without the
driver installed stops start-up with one line saying what to install.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.store.errors import StoreError, StoreFailed

if TYPE_CHECKING:
    from bot.store.pg.store import PgStore

#: What to run when DIALER_DATABASE_URL is set but the driver is missing.
INSTALL = "pip install 'webfones-slack-dialer[postgres]'"
_DRIVER_MODULES = ("psycopg", "psycopg_pool", "psycopg_binary", "psycopg_c")


class DriverMissing(StoreFailed):
    """DIALER_DATABASE_URL is set but psycopg (the `[postgres]` extra) is not installed."""

    def __init__(self) -> None:
        StoreError.__init__(
            self,
            f"DIALER_DATABASE_URL is set but the PostgreSQL driver is not installed: run {INSTALL}",
        )
        self.cause = "driver"


def postgres_store(
    url: str, *, clock: Callable[[], float] = time.time, owner: str | None = None
) -> PgStore:
    """The store on DIALER_DATABASE_URL, not yet connected (await its open() in the loop)."""
    try:
        from bot.store.pg.store import PgStore
    except ImportError as error:
        missing = (error.name or "").split(".")[0]
        if missing in _DRIVER_MODULES or "pq wrapper" in str(error) or "libpq" in str(error):
            raise DriverMissing() from None
        raise
    return PgStore(url, clock=clock, owner=owner)
