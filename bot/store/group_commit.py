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
        self._flushing: asyncio.Future[int] | None = None

    async def flushed(self, commit: int) -> None:
        """Return once `commit` is on the disk; raise the store's error if the flush failed."""
        while self._durable < commit:
            flush = self._flushing
            if flush is None or flush.done():  # a flush that ended may predate this commit
                flush = self._start()
            # Shielded: a caller that gives up must not cancel a flush others wait for.
            covered = await asyncio.shield(flush)
            self._durable = max(self._durable, covered)

    def _start(self) -> asyncio.Future[int]:
        """Start a flush covering every commit made so far, on the flush thread."""
        flush = asyncio.get_running_loop().run_in_executor(self._thread, self._sync)
        flush.add_done_callback(_seen)
        self._flushing = flush
        return flush

    def close(self) -> None:
        """Stop the flush thread (a flush under way finishes first)."""
        self._thread.shutdown(wait=True)


def _seen(flush: asyncio.Future[int]) -> None:
    """A failed flush's error reaches its waiters; with none left, it is not an unseen error."""
    if not flush.cancelled():
        flush.exception()
