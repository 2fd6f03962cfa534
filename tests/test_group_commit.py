"""Group commit: a write the bot reports is on the disk, and a burst of writes shares flushes."""

from __future__ import annotations

import asyncio
import errno
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store, StoreFailed
from bot.store.runner import StoreRunner


class Flushes:
    """Stands in for os.fsync: records which file each flush was of, and can be slow or fail."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.files: list[str] = []
        self.delay = 0.0
        self.failure: OSError | None = None
        self.finished = 0
        self.lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if self.delay:
            time.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        self.real(fd)  # type: ignore[operator]
        with self.lock:
            self.files.append(path)
            self.finished += 1


@pytest.fixture
def flushes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Flushes]:
    recorder = Flushes(os.fsync)
    monkeypatch.setattr(os, "fsync", recorder)
    yield recorder


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StoreRunner]:
    runner = StoreRunner(Store(str(tmp_path / "dialer.db"), group_commit=True))
    yield runner
    runner.close()
    runner.store.close()


def synchronous(store: Store) -> int:
    return store.database.connection().execute("PRAGMA synchronous").fetchone()[0]


def test_only_the_bots_store_leaves_flushing_to_group_commit(tmp_path: Path) -> None:
    """The operator commands' store flushes each commit itself (FULL); the bot's (NORMAL)
    relies on its runner."""
    assert synchronous(Store(str(tmp_path / "cli.db"))) == 2
    assert synchronous(Store(str(tmp_path / "bot.db"), group_commit=True)) == 1


async def test_a_write_returns_only_once_its_commit_was_flushed(
    runner: StoreRunner, flushes: Flushes
) -> None:
    await runner.run(runner.store.links.set, "U1", "309", "UADMIN")
    assert flushes.files == [str(Path(runner.store.path).resolve()) + "-wal"]
    assert runner.store.database.sync() >= 1  # it covers that commit


async def test_a_read_waits_for_no_flush(runner: StoreRunner, flushes: Flushes) -> None:
    await runner.run(runner.store.links.set, "U1", "309", "UADMIN")
    before = len(flushes.files)
    link = await runner.run(runner.store.links.get, "U1")
    assert link is not None and link.extension == "309"
    assert len(flushes.files) == before


async def test_a_burst_of_writes_shares_a_few_flushes_and_none_returns_before_one(
    runner: StoreRunner, flushes: Flushes
) -> None:
    flushes.delay = 0.05  # a slow disk: the burst's commits pile up behind the first flush
    returned_after: list[int] = []

    async def link(i: int) -> None:
        await runner.run(runner.store.links.set, f"U{i:03d}", str(1000 + i), "UADMIN")
        returned_after.append(flushes.finished)

    await asyncio.gather(*(link(i) for i in range(60)))
    assert len(returned_after) == 60
    assert min(returned_after) >= 1, "a write was reported before any flush"
    assert 1 <= len(flushes.files) <= 3, f"{len(flushes.files)} flushes for 60 commits"
    assert len(runner.store.links.all()) == 60


async def test_a_write_on_the_pool_is_flushed_too(runner: StoreRunner, flushes: Flushes) -> None:
    await runner.run_in_pool(runner.store.links.set, "U1", "309", "UADMIN")
    assert len(flushes.files) == 1


async def test_a_failed_flush_fails_the_write_and_the_store_says_so_until_one_succeeds(
    runner: StoreRunner, flushes: Flushes
) -> None:
    flushes.failure = OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(StoreFailed) as failed:
        await runner.run(runner.store.links.set, "U1", "309", "UADMIN")
    assert failed.value.cause == "full"
    assert runner.store.health().problem == "full"
    flushes.failure = None
    await runner.run(runner.store.links.set, "U2", "310", "UADMIN")
    assert runner.store.health().ok


async def test_closing_flushes_what_nobody_was_told_of_yet(
    tmp_path: Path, flushes: Flushes
) -> None:
    store = Store(str(tmp_path / "dialer.db"), group_commit=True)
    store.links.set("U1", "309", "UADMIN")  # straight to the store: no runner flushed it
    assert flushes.files == []
    store.close()
    assert flushes.files == [str((tmp_path / "dialer.db").resolve()) + "-wal"]


def test_writes_arriving_while_flushes_end_never_stall_the_loop(tmp_path: Path) -> None:
    """A write that finds a flush just ended (its callbacks not yet run) starts the next one.

    Run on a loop of its own in a thread: a store that spun on a finished flush would never
    yield, and the test could not time it out from inside that loop.
    """
    done: list[int] = []

    async def traffic() -> None:
        runner = StoreRunner(Store(str(tmp_path / "dialer.db"), group_commit=True))

        async def write(i: int) -> None:
            await asyncio.sleep(random.random() * 0.2)
            await runner.run(runner.store.links.set, f"U{i:03d}", str(1000 + i), "UADMIN")
            done.append(i)

        await asyncio.gather(*(write(i) for i in range(300)))
        runner.close()
        runner.store.close()

    thread = threading.Thread(target=asyncio.run, args=(traffic(),), daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), f"the loop stalled after {len(done)} of 300 writes"
    assert len(done) == 300
