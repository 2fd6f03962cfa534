"""The process's lease on the database: join at start-up, keep it alive, leave at exit."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import closing
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
