"""The process's lease on the database: join at start-up, keep it alive, leave at exit."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing, suppress
from pathlib import Path

import pytest

from bot.runtime import lease
from bot.store import Store
from bot.store.processes import STALE_SECONDS
from bot.store.runner import StoreRunner
from tests.test_store import Clock, read_only_connections, reserve


def outcomes(path: str) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT outcome FROM calls ORDER BY id")]


def processes(path: str) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT owner FROM processes ORDER BY owner")]


async def test_a_running_process_settles_the_calls_of_one_that_crashed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed with a call in flight, then restarted at once: settled once its beat goes stale."""
    path, clock = str(tmp_path / "dialer.db"), Clock()
    crashed = Store(path, clock=clock, owner="crashed")
    crashed.processes.heartbeat()
    reserve(crashed)
    runner = StoreRunner(Store(path, clock=clock, owner="running"))
    with caplog.at_level(logging.WARNING, logger="bot.runtime.lease"):
        lease.join(runner.store)
        assert outcomes(path) == ["pending"]  # its heartbeat is still fresh
        clock.now += STALE_SECONDS + 1
        keeper = asyncio.create_task(lease.keep(runner))
        for _ in range(200):
            if outcomes(path) == ["interrupted"]:
                break
            await asyncio.sleep(0.02)
        assert outcomes(path) == ["interrupted"]
        assert processes(path) == ["running"]
        await lease.leave(runner, keeper)
    assert processes(path) == []
    said = [record.getMessage() for record in caplog.records if record.name == "bot.runtime.lease"]
    assert said == ["1 call(s) were in flight when the bot last stopped"]
    runner.close()


def test_joining_a_database_that_cannot_be_written_is_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(str(tmp_path / "dialer.db"))
    store.close()
    read_only_connections(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="bot.runtime.lease"):
        lease.join(store)
    [line] = [
        record.getMessage() for record in caplog.records if record.name == "bot.runtime.lease"
    ]
    assert line.startswith("DIALER_DB is read-only (attempt to write a readonly database)")
    assert line.endswith("no call will be placed until it can be written")


async def test_a_database_deleted_under_the_bot_is_noticed_by_the_heartbeat_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(str(tmp_path / "dialer.db"))
    runner = StoreRunner(store)
    beats = 0
    heartbeat = store.processes.heartbeat

    def counted() -> None:
        nonlocal beats
        beats += 1
        heartbeat()

    monkeypatch.setattr(store.processes, "heartbeat", counted)
    monkeypatch.setattr(lease, "HEARTBEAT_SECONDS", 0.01)
    with caplog.at_level(logging.WARNING, logger="bot.runtime.lease"):
        keeper = asyncio.create_task(lease.keep(runner))
        await until(lambda: store.health().heartbeat_age is not None)
        assert store.health().ok
        os.remove(store.path)
        await until(lambda: not store.health().ok)
        seen = beats
        await until(lambda: beats >= seen + 5)  # several more beats, all refused
        keeper.cancel()
        with suppress(asyncio.CancelledError):
            await keeper
    said = [record.getMessage() for record in caplog.records if record.name == "bot.runtime.lease"]
    assert said == [
        f"could not renew this process's heartbeat: DIALER_DB {store.path} was deleted or moved "
        "while the bot was running; nothing more is written to it: restart the bot once the "
        "right file is in place"
    ]
    assert store.health().problem == "replaced"
    assert not os.path.exists(store.path)
    runner.close()


async def until(probe: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        assert asyncio.get_running_loop().time() < deadline, "waited in vain"
        await asyncio.sleep(0.01)
