"""Group commit: one flush to disk, off the event loop, for every commit made before it.

SQLite's `synchronous=FULL` flushes the -wal file at each commit, on the thread that commits:
on the event loop, under a burst, every request then waits for every earlier request's flush
before it can be acked. With group commit the database commits without flushing (NORMAL) and
whoever is about to report a write awaits `flushed(commit)`: a flush already under way that
started after that commit serves it, else the next one does, so a burst of N writes costs a
few flushes, none of them on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


class GroupCommit:
    """Awaits durability for commits: one flush at a time, on its own thread."""

    def __init__(self, sync: Callable[[], int]) -> None:
        #: Flushes every commit made so far; answers the last one it covered.
        self._sync = sync
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-flush")
        self._durable = 0
        self._flushing: asyncio.Future[None] | None = None

    @property
    def durable(self) -> int:
        """The last commit known to be on the disk."""
        return self._durable

    async def flushed(self, commit: int) -> None:
        """Return once `commit` is on the disk; raise the store's error if the flush failed."""
        while self._durable < commit:
            if self._flushing is None:
                self._flushing = asyncio.ensure_future(self._flush())
            # Shielded: a caller that gives up must not cancel a flush others wait for.
            await asyncio.shield(self._flushing)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            covered = await loop.run_in_executor(self._thread, self._sync)
            self._durable = max(self._durable, covered)
        finally:
            self._flushing = None

    def close(self) -> None:
        """Stop the flush thread (a flush under way finishes first)."""
        self._thread.shutdown(wait=True)
