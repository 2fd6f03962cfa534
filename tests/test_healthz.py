"""GET /healthz answers from what the process knows: the last write, the heartbeat, the file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.metrics import Metrics
from bot.slack.http_server import create_web_app
from bot.store import Store, StoreFailed
from bot.store.runner import StoreRunner
from tests.test_store import read_only_connections, reserve


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(str(tmp_path / "dialer.db"))
    store.processes.heartbeat()  # as lease.join does at start-up
    return store


@pytest.fixture
async def client(store: Store) -> AsyncIterator[TestClient]:
    runner = StoreRunner(store)
    # The Bolt app only serves POST /slack/events, which these tests never call.
    web_app = create_web_app(None, runner, Metrics(), "0" * 32)  # type: ignore[arg-type]
    async with TestClient(TestServer(web_app)) as client:
        yield client
    runner.close()


async def health(client: TestClient) -> tuple[int, dict]:
    answer = await client.get("/healthz")
    return answer.status, await answer.json()


async def test_healthy_answers_200_without_an_integrity_check(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_quick_check() -> str:
        raise AssertionError("/healthz ran PRAGMA quick_check")

    monkeypatch.setattr(store, "check", no_quick_check)
    monkeypatch.setattr(store.database, "check", no_quick_check)
    assert await health(client) == (200, {"ok": True, "database": "ok"})


async def test_a_read_only_database_is_503_until_a_write_works_again(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.close()
    read_only_connections(monkeypatch)
    with pytest.raises(StoreFailed):
        store.processes.heartbeat()  # the next beat (every 2 s) or any write
    assert await health(client) == (
        503,
        {
            "ok": False,
            "database": "read-only",
            "problem": "the last write to the database failed: it is read-only",
        },
    )
    monkeypatch.undo()
    store.processes.heartbeat()
    assert await health(client) == (200, {"ok": True, "database": "ok"})


async def test_a_full_disk_is_503(client: TestClient, store: Store) -> None:
    db = store.database.connection()
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(StoreFailed):
        for n in range(200):  # fill the last free pages, then one more
            reserve(store, user=f"U{n}", detail="x" * 900)
    status, body = await health(client)
    assert status == 503 and body["database"] == "full", body
    assert body["problem"] == "the last write to the database failed: the disk is full"


async def test_a_deleted_database_is_503_and_names_no_path(
    client: TestClient, store: Store
) -> None:
    os.remove(store.path)
    status, body = await health(client)
    assert (status, body["database"]) == (503, "replaced")
    assert body["problem"] == "DIALER_DB was deleted or replaced while the bot was running"
    assert store.path not in str(body)


async def test_a_late_heartbeat_is_503(client: TestClient, store: Store) -> None:
    store.database._last_beat = (store.database._last_beat or 0) - 60
    status, body = await health(client)
    assert (status, body["database"]) == (503, "stale")
