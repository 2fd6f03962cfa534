"""The PostgreSQL store's own promises: admission race-free across replicas (measured under
contention), migrations applied once under a lock, and errors that never show the password."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest

from bot.domain.rates import Rate
from bot.store import Held, Reserved, StoreBusy, StoreError, StoreFailed
from bot.store.pg import DriverMissing, postgres_store
from bot.store.pg.migrations import LATEST
from bot.store.pg.store import PgStore
from tests.postgres import PostgresServer

ROOMY = Rate(1000, 60)
REPLICAS = 5


class Clock:
    """A settable clock."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[Callable[..., Any]]:
    """Opens PgStores on one database, each as a separate replica would; closes them after."""
    opened: list[PgStore] = []

    async def open_replicas(count: int = REPLICAS, **kwargs: Any) -> list[PgStore]:
        stores = [
            postgres_store(postgres_url, owner=f"replica-{n}", **kwargs) for n in range(count)
        ]
        await asyncio.gather(*(store.open() for store in stores))
        opened.extend(stores)
        return stores

    yield open_replicas
    await asyncio.gather(*(store.close() for store in opened))


async def burst(stores: list[PgStore], count: int, **reserve: Any) -> list[Reserved | Held]:
    """`count` reservations at once, spread round-robin over the replicas."""
    user: Callable[[int], str] = reserve.pop("user")
    dest: Callable[[int], str] = reserve.pop("dest")
    reserve.setdefault("user_rate", ROOMY)
    reserve.setdefault("pbx_rate", ROOMY)
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            stores[n % len(stores)].calls.reserve(
                user(n), extension="309", destination=dest(n), surface="slash", **reserve
            )
            for n in range(count)
        )
    )
    elapsed = time.perf_counter() - started
    print(f"{count} reserves over {len(stores)} replicas: {elapsed * 1000:.0f} ms")
    return results


async def test_a_user_budget_is_exact_under_contention_from_five_replicas(replicas: Any) -> None:
    stores = await replicas()
    results = await burst(
        stores, 50, user=lambda n: "U1", dest=lambda n: f"+1555000{n:04d}", user_rate=Rate(10, 60)
    )
    assert sum(isinstance(r, Reserved) for r in results) == 10
    held = [r for r in results if isinstance(r, Held)]
    assert {r.reason for r in held} == {"user_rate"} and len(held) == 40
    logged = await stores[0].calls.recent(user_id="U1", limit=100)
    assert sum(r.outcome == "pending" for r in logged) == 10 and len(logged) == 50


async def test_the_duplicate_guard_is_exact_under_contention(replicas: Any) -> None:
    stores = await replicas()
    results = await burst(stores, 20, user=lambda n: "U1", dest=lambda n: "+15808675309")
    assert sum(isinstance(r, Reserved) for r in results) == 1
    assert {r.reason for r in results if isinstance(r, Held)} == {"duplicate"}


async def test_the_whole_app_budget_is_exact_under_contention(replicas: Any) -> None:
    stores = await replicas()
    results = await burst(
        stores, 60, user=lambda n: f"U{n}", dest=lambda n: "+15808675309", pbx_rate=Rate(20, 900)
    )
    assert sum(isinstance(r, Reserved) for r in results) == 20
    assert await stores[3].calls.pbx_budget_left(Rate(20, 900)) == 0


async def test_a_request_is_claimed_once_under_contention(replicas: Any) -> None:
    stores = await replicas()
    for store in stores:  # every running replica beats: its claims are its own to act on
        await store.processes.heartbeat()
    claims = await asyncio.gather(
        *(stores[n % REPLICAS].claims.claim(f"envelope:E{n}", "trigger:T1") for n in range(20))
    )
    assert claims.count(True) == 1


async def test_a_dead_replicas_claim_is_taken_over_once_under_contention(replicas: Any) -> None:
    clock = Clock()
    dead, *alive = await replicas(clock=clock)
    await dead.processes.heartbeat()
    assert await dead.claims.claim("trigger:T1", "envelope:E0") is True
    clock.now += 20  # its heartbeat goes stale; the others' are fresh
    for store in alive:
        await store.processes.heartbeat()
    claims = await asyncio.gather(
        *(alive[n % len(alive)].claims.claim(f"envelope:E{n + 1}", "trigger:T1") for n in range(20))
    )
    assert claims.count(True) == 1


async def test_an_admin_is_told_once_whichever_replicas_press_at_once(replicas: Any) -> None:
    stores = await replicas()
    told = await asyncio.gather(
        *(stores[n % REPLICAS].answers.claim_notice("309", "UADMIN001") for n in range(20))
    )
    assert told.count(True) == 1


async def test_the_directory_never_links_one_extension_twice_under_contention(
    replicas: Any,
) -> None:
    stores = await replicas()
    followed = await asyncio.gather(
        *(
            stores[n % REPLICAS].directory.follow(f"U{n}", "309", active=True, rule=lambda v: None)
            for n in range(20)
        )
    )
    assert sum(f.decision.verdict == "link" for f in followed) == 1
    assert (
        await stores[0].links.users_with("309") != []
        and len(await stores[0].links.users_with("309")) == 1
    )


async def test_replicas_migrate_together_once(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    stores = [postgres_store(postgres_url) for _ in range(4)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        assert {store.database.version for store in stores} == {LATEST}
        assert await stores[0].check() == "ok"
        described = await stores[0].describe()
        assert f"schema version {LATEST}" in described and "PostgreSQL" in described
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
            assert [row[0] for row in await cursor.fetchall()] == list(range(1, LATEST + 1))
            # A schema an older deploy left behind is brought up to date on the next open.
            await conn.execute(f"DELETE FROM schema_migrations WHERE version = {LATEST}")
            await conn.execute("ALTER TABLE links DROP COLUMN source")
            await conn.execute("DROP TABLE link_events, directory_conflicts, directory_state")
            await conn.commit()
        assert await stores[0].check() == f"schema version {LATEST - 1}, expected {LATEST}"
        again = postgres_store(postgres_url)
        await again.open()
        stores.append(again)
        assert await again.check() == "ok"
        await again.directory.follow("U1", "309", active=True, rule=lambda value: None)
        assert (await again.links.get("U1")).source == "directory"
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_a_writer_holding_the_lock_makes_a_claim_busy_not_wait(replicas: Any) -> None:
    one, other = await replicas(2)
    async with one.database.writing() as conn:
        await conn.execute(
            "INSERT INTO handled (key, at) VALUES ('trigger:T1', extract(epoch FROM now()))"
        )
        started = time.monotonic()
        with pytest.raises(StoreBusy):
            await other.claims.claim("trigger:T1")  # waits at most CLAIM_WAIT_SECONDS
        assert time.monotonic() - started < 1.0
    assert await other.claims.claim("trigger:T1") is False  # the first writer committed it


async def test_a_wrong_password_is_a_failure_that_never_shows_it(
    postgres_server: PostgresServer, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Hunter2-Not-The-Password"
    url = postgres_url.replace(postgres_server.password, secret)
    store = postgres_store(url)
    with pytest.raises(StoreFailed) as failed:
        await store.open()
    message = str(failed.value)
    assert failed.value.cause == "failing"
    assert message.startswith("DIALER_DATABASE_URL postgresql://dialer@127.0.0.1:")
    assert "password authentication failed" in message
    assert secret not in message and postgres_server.password not in message
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    assert secret not in caplog.text
    await store.close()


async def test_a_server_that_went_away_is_a_failure_naming_the_url(postgres_url: str) -> None:
    port = postgres_url.rsplit(":", 1)[1].split("/")[0]
    gone = postgres_url.replace(f":{port}/", ":1/")  # nothing listens on port 1
    store = postgres_store(gone)
    with pytest.raises(StoreFailed) as failed:
        await store.open()
    assert "DIALER_DATABASE_URL" in str(failed.value) and "refused" in str(failed.value)
    await store.close()


async def test_a_read_only_server_is_named(replicas: Any, postgres_url: str) -> None:
    (store,) = await replicas(1)
    name = postgres_url.rsplit("/", 1)[1]
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        await conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    await store.close()  # its connections were made before: a replica starting now
    readonly = await replicas(1)
    with pytest.raises(StoreFailed) as failed:
        await readonly[0].links.set("U1", "309", "UADMIN")
    assert failed.value.cause == "read-only"
    assert "DIALER_DATABASE_URL is read-only" in str(failed.value)
    assert await readonly[0].links.get("U1") is None  # reading still works


def test_a_url_without_the_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for name in [name for name in sys.modules if name.startswith("bot.store.pg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(DriverMissing) as missing:
        postgres_store("postgresql://dialer:secret@db.example/dialer")
    assert str(missing.value) == (
        "DIALER_DATABASE_URL is set but the PostgreSQL driver is not installed: "
        "run pip install 'webfones-slack-dialer[postgres]'"
    )
    assert isinstance(missing.value, StoreError)
