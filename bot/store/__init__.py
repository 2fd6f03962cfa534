"""The store: the only state the bot keeps, in SQLite, so it survives restarts.

One package per database concern, each on the shared `Database` (one connection per thread,
one writer at a time): `links`, the call ledger with atomic admission (`calls`), request
`claims`, and `processes` with their leases. Every method raises only the store's own errors
(`StoreBusy`, `StoreFailed`); `sqlite3` is imported nowhere outside this package.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.store.answers import CallerAnswers
from bot.store.claims import RequestClaims
from bot.store.database import Database, Health, open_to_others
from bot.store.errors import StoreBusy, StoreError, StoreFailed, WouldWait
from bot.store.ledger import DUPLICATE_WINDOW_SECONDS, CallLedger, CallRecord, Held, Reserved
from bot.store.link_events import DirectoryLinks
from bot.store.links import Link, LinkStore
from bot.store.processes import HEALTHY_BEAT_SECONDS, Processes

__all__ = [
    "DUPLICATE_WINDOW_SECONDS",
    "CallLedger",
    "CallRecord",
    "CallerAnswers",
    "Health",
    "Held",
    "Link",
    "LinkStore",
    "Processes",
    "RequestClaims",
    "Reserved",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreFailed",
    "WouldWait",
    "open_to_others",
]


class Store:
    """The SQLite file opened (and migrated) once, with one part per concern."""

    #: Its methods are plain calls (bot.store.pg.PgStore's are coroutines).
    asynchronous = False

    def __init__(
        self,
        path: str,
        *,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        group_commit: bool = False,
    ) -> None:
        #: Names this process in the call log and the `processes` table (see bot.runtime.lease).
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        #: group_commit: commits are flushed in groups by whoever reports them (the bot's
        #: StoreRunner, bot.store.group_commit), not one by one by SQLite (the CLI's way).
        self.database = Database(path, clock=clock, group_commit=group_commit)
        self.links = LinkStore(self.database)
        self.calls = CallLedger(self.database, self.owner)
        self.claims = RequestClaims(self.database, self.owner)
        self.processes = Processes(self.database, self.owner)
        #: Callers' answers to "did it ring?" and the admins' notices (bot.store.answers).
        self.answers = CallerAnswers(self.database)
        #: Links kept by the company directory (DIALER_EXTENSION_FIELD), their audit rows.
        self.directory = DirectoryLinks(self.database)

    @property
    def path(self) -> str:
        """The SQLite file (DIALER_DB)."""
        return self.database.path

    def now(self) -> float:
        """The store's clock: the time a row written now would carry."""
        return self.database.clock()

    async def open(self) -> None:
        """Nothing left to do: the file was opened and migrated when the Store was made."""

    def budget(self) -> CallLedger:
        """The PBX budget's read for the metrics (a plain call, safe on a worker thread)."""
        return self.calls

    def describe(self) -> str:
        """Which database this is, for `check` (the same question PgStore answers)."""
        return f"SQLite file {os.path.abspath(self.path)}"

    def check(self) -> str:
        """The integrity check's answer ('ok' when healthy); raises StoreError when unusable."""
        return self.database.check()

    def probe_write(self) -> None:
        """Commit a write that leaves nothing behind; raises StoreError when writes fail."""
        self.database.probe_write()

    def health(self) -> Health:
        """What this process knows of its writes: the last one, the heartbeat, the file.

        Cheap (no query, one stat()), for /healthz: unhealthy when the last write failed,
        DIALER_DB was replaced, or the heartbeat is older than three beats.
        """
        return self.database.health(stale_after=HEALTHY_BEAT_SECONDS)

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """In this block (this thread only), a write that would wait raises WouldWait at once."""
        with self.database.without_waiting():
            yield

    def close(self) -> None:
        """Close this thread's connection (the next call on this thread opens a fresh one)."""
        self.database.close()
