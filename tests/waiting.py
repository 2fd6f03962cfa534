"""Bounded waits for tests: until something happens, or for a named quiet period it must not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.01


def wait_until(probe: Callable[[], T], *, timeout: float = 5.0, what: str = "the condition") -> T:
    """Poll `probe` until it answers something truthy and answer that; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g}s for {what}, in vain (last: {value!r})")
        time.sleep(POLL_SECONDS)


def assert_stays(
    probe: Callable[[], object], *, for_seconds: float = 0.3, what: str = "the condition"
) -> None:
    """Check that `probe` stays truthy for a whole quiet period of `for_seconds`, failing at once.

    For assertions that something did *not* happen (no PBX call, no reply): the period is the
    bound on how long we are willing to watch, and `what` says what was being watched.
    """
    deadline = time.monotonic() + for_seconds
    while True:
        value = probe()
        if not value:
            raise AssertionError(f"expected {what} for {for_seconds:g}s, but it changed")
        if time.monotonic() >= deadline:
            return
        time.sleep(POLL_SECONDS)


async def assert_stays_async(
    probe: Callable[[], object], *, for_seconds: float = 0.3, what: str = "the condition"
) -> None:
    """assert_stays for async tests: the event loop keeps running while we watch."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + for_seconds
    while True:
        if not probe():
            raise AssertionError(f"expected {what} for {for_seconds:g}s, but it changed")
        if loop.time() >= deadline:
            return
        await asyncio.sleep(POLL_SECONDS)
