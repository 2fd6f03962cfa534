"""The bounded waits tests lean on: they end when they should, and fail saying what they watched."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.waiting import assert_stays, assert_stays_async, wait_until


def test_wait_until_answers_the_first_truthy_value() -> None:
    box: list[int] = []
    threading.Timer(0.05, box.append, [7]).start()
    assert wait_until(lambda: list(box), timeout=2, what="a value") == [7]


def test_wait_until_fails_after_its_timeout_naming_what_it_waited_for() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"waited 0\.1s for the PBX call"):
        wait_until(lambda: [], timeout=0.1, what="the PBX call")
    assert time.monotonic() - started < 1


def test_assert_stays_watches_the_whole_period() -> None:
    started = time.monotonic()
    assert_stays(lambda: True, for_seconds=0.1, what="nothing")
    assert time.monotonic() - started >= 0.1


def test_assert_stays_fails_as_soon_as_the_condition_changes() -> None:
    calls: list[str] = []
    threading.Timer(0.05, calls.append, ["dialed"]).start()
    started = time.monotonic()
    with pytest.raises(AssertionError, match="expected no PBX call for 5s"):
        assert_stays(lambda: calls == [], for_seconds=5, what="no PBX call")
    assert time.monotonic() - started < 1


async def test_assert_stays_async_lets_the_loop_run_and_sees_a_change() -> None:
    calls: list[str] = []
    asyncio.get_running_loop().call_later(0.05, calls.append, "dialed")
    with pytest.raises(AssertionError, match="no PBX call"):
        await assert_stays_async(lambda: calls == [], for_seconds=5, what="no PBX call")
