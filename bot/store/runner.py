"""StoreRunner: calls the Store from the event loop without ever blocking it on a lock."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from bot.store import Store, WouldWait

if TYPE_CHECKING:
    from bot.store.pg.store import PgStore

T = TypeVar("T")


class StoreRunner:
    """Runs Store calls so the event loop never waits on a lock held by another writer.

    A store call takes well under a millisecond, far less than handing it to a thread (which
    is what made acks queue behind each other under load), so it runs on the loop itself
    unless a write would have to wait for a lock: then it is retried on a small thread pool.
    A store whose methods are coroutines (PostgreSQL) is awaited directly: it never blocks.
    """

    def __init__(self, store: Store | PgStore, workers: int = 8) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call fn(*args, **kwargs) now if it need not wait, else on the pool; await it."""
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        try:
            with self.store.without_waiting():
                return fn(*args, **kwargs)
        except WouldWait:
            return await self.run_in_pool(fn, *args, **kwargs)

    async def run_in_pool(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call fn(*args, **kwargs) on the pool (for slow work) and await its result."""
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)  # a coroutine never blocks the loop
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        """Finish queued work and stop the pool."""
        self._pool.shutdown(wait=True)
