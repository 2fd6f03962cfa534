"""StoreRunner: calls the Store from the event loop without ever blocking it on a lock."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from bot.store import Store, WouldWait
from bot.store.group_commit import GroupCommit

if TYPE_CHECKING:
    from bot.store.pg.store import PgStore

T = TypeVar("T")


class StoreRunner:
    """Runs Store calls so the event loop never waits on a lock held by another writer.

    A store call takes well under a millisecond, far less than handing it to a thread (which
    is what made acks queue behind each other under load), so it runs on the loop itself
    unless a write would have to wait for a lock: then it is retried on a small thread pool.
    A store whose methods are coroutines (PostgreSQL) is awaited directly: it never blocks.
    A SQLite store opened with group commit has each write's commit on the disk before the
    write's caller goes on (bot.store.group_commit).
    """

    def __init__(self, store: Store | PgStore, workers: int = 8) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")
        self._group: GroupCommit | None = None
        if isinstance(store, Store) and store.database.group_commit:
            self._group = GroupCommit(store.database.sync)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call fn(*args, **kwargs) now if it need not wait, else on the pool; await it."""
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        try:
            with self.store.without_waiting():
                result, commit = self._call(fn, args, kwargs)
        except WouldWait:
            return await self.run_in_pool(fn, *args, **kwargs)
        return await self._durable(result, commit)

    async def run_in_pool(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call fn(*args, **kwargs) on the pool (for slow work) and await its result."""
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)  # a coroutine never blocks the loop
        loop = asyncio.get_running_loop()
        result, commit = await loop.run_in_executor(
            self._pool, lambda: self._call(fn, args, kwargs)
        )
        return await self._durable(result, commit)

    def _call(self, fn: Callable[..., T], args: Any, kwargs: Any) -> tuple[T, int | None]:
        """fn's result, and the commit it made on this thread (None if it made none)."""
        if self._group is None:
            return fn(*args, **kwargs), None
        database = self.store.database  # type: ignore[union-attr]  # SQLite: _group is set
        before = database.last_commit()
        result = fn(*args, **kwargs)
        after = database.last_commit()
        return result, (after if after != before else None)

    async def _durable(self, result: T, commit: int | None) -> T:
        """The result, once the commit that made it (if any) is on the disk."""
        if commit is not None and self._group is not None:
            await self._group.flushed(commit)
        return result

    def close(self) -> None:
        """Finish queued work and stop the pool (and the flush thread)."""
        self._pool.shutdown(wait=True)
        if self._group is not None:
            self._group.close()
