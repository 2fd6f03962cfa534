"""PostgreSQL: one connection pool shared by the store's parts, opened (and migrated) in the loop.

Reads run on any pooled connection (autocommit); writes run in one transaction each, giving up
with StoreBusy when a lock is held past their wait (lock_timeout), as SQLite's writers do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.store.database import WRITE_WAIT_SECONDS, Health
from bot.store.errors import StoreFailed
from bot.store.pg.errors import Scrubber, guarded
from bot.store.pg.migrations import LATEST, migrate, version

#: Connections each process keeps at most: three replicas stay far below PostgreSQL's 100.
POOL_SIZE = 10
#: How long connecting may take before the server counts as unreachable.
CONNECT_SECONDS = 5.0
APPLICATION_NAME = "webfones-dialer"


class PgDatabase:
    """The pool of connections to DIALER_DATABASE_URL, and its schema applied."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        self.scrubber = Scrubber(url)
        #: Wall-clock seconds: the audit log's times and every window counted from them.
        self.clock = clock
        self.version = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        #: The last write's failure (None once a write succeeds), and the last heartbeat.
        self._write_failure: StoreFailed | None = None
        self._last_beat: float | None = None
        self._url = url
        self._options: dict[str, object] = {"autocommit": True}
        try:
            given = conninfo_to_dict(url)
        except psycopg.Error as error:
            raise self.scrubber.failure(error) from None
        if "connect_timeout" not in given:
            self._options["connect_timeout"] = int(CONNECT_SECONDS)
        if "application_name" not in given:
            self._options["application_name"] = APPLICATION_NAME
        self.pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs=self._options,
            open=False,
            # A connection the server dropped (a restart, a failover) is replaced, not used.
            check=AsyncConnectionPool.check_connection,
            name="dialer",
        )

    async def open(self) -> None:
        """Connect once (so a refusal is named), migrate, then open the pool."""
        try:
            conn = await AsyncConnection.connect(self._url, **self._options)  # type: ignore[arg-type]
            try:
                self.version = await migrate(conn)
            finally:
                await conn.close()
            self.loop = asyncio.get_running_loop()
            await self.pool.open(wait=True, timeout=CONNECT_SECONDS)
        except psycopg.Error as error:
            raise self.scrubber.failure(error, pool_empty=True) from None

    def pool_empty(self) -> bool:
        """Whether the pool holds no connection at all (the server is out of reach)."""
        return self.pool.get_stats().get("pool_size", 0) == 0

    @asynccontextmanager
    async def reading(self, wait: float = WRITE_WAIT_SECONDS) -> AsyncIterator[AsyncConnection]:
        """A pooled connection in autocommit, waiting at most `wait` seconds for one."""
        async with self.pool.connection(timeout=wait) as conn:
            yield conn

    @asynccontextmanager
    async def writing(self, wait: float = WRITE_WAIT_SECONDS) -> AsyncIterator[AsyncConnection]:
        """One transaction, whose lock waits give up (StoreBusy) after `wait` seconds."""
        try:
            async with self.pool.connection(timeout=wait) as conn, conn.transaction():
                await conn.execute(
                    "SELECT set_config('lock_timeout', %s, true)",
                    [f"{max(1, int(wait * 1000))}ms"],
                )
                yield conn
        except (psycopg.IntegrityError, psycopg.ProgrammingError):
            raise  # a bug in our SQL says nothing about the server
        except (psycopg.Error, PoolTimeout, OSError) as error:
            failure = self.scrubber.failure(error, pool_empty=self.pool_empty())
            if isinstance(failure, StoreFailed):
                self._write_failure = failure
            raise
        else:
            self._write_failure = None

    def beat(self) -> None:
        """Note that this process's heartbeat was just written (for health())."""
        self._last_beat = time.monotonic()

    def health(self, stale_after: float) -> Health:
        """Whether writes work, as far as this process knows, without a query: unhealthy when
        the last write failed (read-only, full, failing) or the heartbeat is older than
        `stale_after` seconds."""
        age = None if self._last_beat is None else time.monotonic() - self._last_beat
        failure = self._write_failure
        if failure is not None:
            return Health(failure.cause, str(failure), age)
        if age is not None and age > stale_after:
            detail = f"this process's heartbeat was last written {age:.0f} s ago"
            return Health("stale", detail, age)
        return Health(None, "ok", age)

    @guarded
    async def probe_write(self, wait: float = WRITE_WAIT_SECONDS) -> None:
        """Commit a write that leaves nothing behind; raise StoreError when writes fail (a
        standby's read-only transaction, a full disk, a server out of reach)."""
        async with self.writing(wait=wait) as conn:
            await conn.execute(
                "INSERT INTO pbx_state (key, value) VALUES ('write probe', 0)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
            await conn.execute("DELETE FROM pbx_state WHERE key = 'write probe'")

    async def check(self) -> str:
        """'ok' when the server answers and its schema is this code's; else what is wrong."""
        async with self.reading() as conn:
            at = await version(conn)
        if at < LATEST:
            return f"schema version {at}, expected {LATEST}"
        return "ok"

    async def describe(self) -> str:
        """The server's version and the schema's, for `python -m bot check`."""
        async with self.reading() as conn:
            cursor = await conn.execute("SHOW server_version")
            row = await cursor.fetchone()
            at = await version(conn)
        server = str(row[0]).split()[0] if row else "?"
        return f"PostgreSQL {server} at {self.scrubber.shown}, schema version {at}"

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.pool.close()


class PgPart:
    """One concern of the store (links, calls, claims, processes) on the shared PgDatabase."""

    def __init__(self, database: PgDatabase) -> None:
        self._database = database

    @property
    def scrubber(self) -> Scrubber:
        """Makes this part's errors (see bot.store.pg.errors.guarded)."""
        return self._database.scrubber

    def pool_empty(self) -> bool:
        """Whether the server is out of reach (a pool timeout is then a failure, not busy)."""
        return self._database.pool_empty()

    def _now(self) -> float:
        return self._database.clock()
