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

from bot.store.claims import RequestClaims
from bot.store.database import Database
from bot.store.errors import StoreBusy, StoreError, StoreFailed, WouldWait
from bot.store.ledger import DUPLICATE_WINDOW_SECONDS, CallLedger, CallRecord, Held, Reserved
from bot.store.link_events import DirectoryLinks
from bot.store.links import Link, LinkStore
from bot.store.processes import Processes

__all__ = [
    "DUPLICATE_WINDOW_SECONDS",
    "CallLedger",
    "CallRecord",
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
]


class Store:
    """The SQLite file opened (and migrated) once, with one part per concern."""

    def __init__(
        self, path: str, *, clock: Callable[[], float] = time.time, owner: str | None = None
    ) -> None:
        #: Names this process in the call log and the `processes` table (see bot.runtime.lease).
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.database = Database(path, clock=clock)
        self.links = LinkStore(self.database)
        self.calls = CallLedger(self.database, self.owner)
        self.claims = RequestClaims(self.database)
        self.processes = Processes(self.database, self.owner)
        #: Links kept by the company directory (DIALER_EXTENSION_FIELD), their audit rows.
        self.directory = DirectoryLinks(self.database)

    @property
    def path(self) -> str:
        """The SQLite file (DIALER_DB)."""
        return self.database.path

    def check(self) -> str:
        """The integrity check's answer ('ok' when healthy); raises StoreError when unusable."""
        return self.database.check()

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """In this block (this thread only), a write that would wait raises WouldWait at once."""
        with self.database.without_waiting():
            yield

    def close(self) -> None:
        """Close this thread's connection (the next call on this thread opens a fresh one)."""
        self.database.close()
