"""PgStore: the store on PostgreSQL, with the SQLite Store's parts and methods as coroutines."""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.store.database import Health
from bot.store.pg.answers import PgAnswers
from bot.store.pg.claims import PgClaims
from bot.store.pg.database import PgDatabase
from bot.store.pg.errors import Scrubber, guarded
from bot.store.pg.ledger import PgCallLedger, ThreadBudget
from bot.store.pg.link_events import PgDirectoryLinks
from bot.store.pg.links import PgLinks
from bot.store.pg.processes import PgProcesses
from bot.store.processes import HEALTHY_BEAT_SECONDS


class PgStore:
    """DIALER_DATABASE_URL's pool, opened and migrated by `await open()`, one part per concern."""

    #: Its methods are coroutines, and it is opened in the event loop (see bot.runtime.process).
    asynchronous = True

    def __init__(
        self, url: str, *, clock: Callable[[], float] = time.time, owner: str | None = None
    ) -> None:
        #: Names this process in the call log and the `processes` table (see bot.runtime.lease).
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.database = PgDatabase(url, clock=clock)
        self.links = PgLinks(self.database)
        self.calls = PgCallLedger(self.database, self.owner)
        self.claims = PgClaims(self.database, self.owner)
        self.processes = PgProcesses(self.database, self.owner)
        #: Callers' answers to "did it ring?" and the admins' notices.
        self.answers = PgAnswers(self.database)
        #: Links kept by the company directory (DIALER_EXTENSION_FIELD), their audit rows.
        self.directory = PgDirectoryLinks(self.database)

    @property
    def path(self) -> str:
        """DIALER_DATABASE_URL without its password, to name the database in a sentence."""
        return self.database.scrubber.shown

    @property
    def scrubber(self) -> Scrubber:
        """Makes the store's errors from psycopg's, without the password."""
        return self.database.scrubber

    def pool_empty(self) -> bool:
        """Whether the server is out of reach."""
        return self.database.pool_empty()

    def now(self) -> float:
        """The store's clock: the time a row written now would carry."""
        return self.database.clock()

    def budget(self) -> ThreadBudget:
        """The PBX budget's read for the metrics (built on a worker thread)."""
        return self.calls.from_thread()

    async def open(self) -> None:
        """Connect, apply the migrations (under an advisory lock) and open the pool."""
        await self.database.open()

    @guarded
    async def check(self) -> str:
        """'ok' when the server answers with this code's schema; raises StoreError when not."""
        return await self.database.check()

    @guarded
    async def probe_write(self) -> None:
        """Commit a write that leaves nothing behind; raises StoreError when writes fail."""
        await self.database.probe_write()

    def health(self) -> Health:
        """What this process knows of its writes, without a query (for /healthz): unhealthy
        when the last write failed or the heartbeat is older than three beats."""
        return self.database.health(stale_after=HEALTHY_BEAT_SECONDS)

    @guarded
    async def describe(self) -> str:
        """The server's version, its address (no password) and the schema version."""
        return await self.database.describe()

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """Nothing to do: StoreRunner awaits this store's coroutines, which never block the loop."""
        yield

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.database.close()
