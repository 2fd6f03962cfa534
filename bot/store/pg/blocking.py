"""PgStore for plain, synchronous code (the operator commands): its own loop on a thread.

The operator commands read and write the store with plain calls, as SQLite's Store answers
them. `BlockingStore` opens a PgStore on an event loop of its own, on a daemon thread, and
answers its parts with the same methods as plain calls that wait for the coroutine there, so
each command works on either backend unchanged (and a command's own asyncio.run, for Slack,
never shares a loop with the pool).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from bot.store.pg.database import PgDatabase, PgPart
from bot.store.pg.store import PgStore

T = TypeVar("T")


class _Loop:
    """An event loop running on a daemon thread; `run` waits for a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="pg-store", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """The coroutine's answer (or its exception), run on the store's loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _Blocking:
    """One part of a PgStore whose coroutine methods are answered as plain calls."""

    def __init__(self, target: Any, loop: _Loop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if inspect.iscoroutinefunction(value):

            @functools.wraps(value)
            def call(*args: Any, **kwargs: Any) -> Any:
                return self._loop.run(value(*args, **kwargs))

            return call
        if isinstance(value, PgPart | PgDatabase):
            return _Blocking(value, self._loop)
        return value


class BlockingStore(_Blocking):
    """A PgStore opened (and migrated) on its own loop, with plain methods like SQLite's."""

    #: Its methods are plain calls, as SQLite's Store's are.
    asynchronous = False

    def __init__(self, store: PgStore) -> None:
        loop = _Loop()
        super().__init__(store, loop)
        self.store = store
        try:
            loop.run(store.open())
        except BaseException:
            loop.stop()
            raise

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """Nothing to do: each call already waits on the store's own loop, off the caller's."""
        yield

    def close(self) -> None:
        """Close the pool, then stop the store's loop."""
        try:
            self._loop.run(self.store.close())
        finally:
            self._loop.stop()
