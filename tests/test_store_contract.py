"""One store contract, two backends: every test here runs on SQLite and on PostgreSQL.

The services call the store through StoreRunner and never know which database they have, so
both backends must give the same answers. SQLite's methods are plain calls and PostgreSQL's are
coroutines: `call` runs either. Tests of one backend's internals (SQLite's file modes and locks,
PostgreSQL's migrations lock and errors) are in tests/test_store.py and tests/test_store_pg.py.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.domain.rates import Rate
from bot.store import Held, Reserved, Store
from bot.store.pg import postgres_store
from bot.store.processes import PENDING_LIMIT_SECONDS, STALE_SECONDS

ROOMY = Rate(100, 60)


class Clock:
    """A settable clock."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a store method of either backend: SQLite's answer, or PostgreSQL's awaited."""
    answer = fn(*args, **kwargs)
    return await answer if inspect.isawaitable(answer) else answer


Opener = Callable[..., Awaitable[Any]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[Opener]:
    """Opens stores on one database (each like another process); closes them all after."""
    opened: list[Any] = []
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")

        async def opener(owner: str | None = None) -> Any:
            store = postgres_store(url, clock=clock, owner=owner)
            await store.open()
            opened.append(store)
            return store
    else:
        path = str(tmp_path / "dialer.db")

        async def opener(owner: str | None = None) -> Any:
            store = Store(path, clock=clock, owner=owner)
            await store.open()
            opened.append(store)
            return store

    yield opener
    for store in opened:
        await call(store.close)


@pytest.fixture
async def store(open_store: Opener) -> Any:
    return await open_store()


async def reserve(store: Any, user: str = "U1", dest: str = "+15808675309", **kw: Any) -> Any:
    kw.setdefault("user_rate", ROOMY)
    kw.setdefault("pbx_rate", ROOMY)
    return await call(
        store.calls.reserve, user, extension="309", destination=dest, surface="slash", **kw
    )


async def finish(store: Any, call_id: int, outcome: str, status: int | None, ms: int = 5) -> None:
    await call(
        store.calls.finish, call_id, outcome=outcome, sent=True, pbx_status=status, latency_ms=ms
    )


async def test_links_are_kept_by_user_id_and_survive_reopening(open_store: Opener) -> None:
    first = await open_store()
    assert await call(first.links.set, "U1", "309", "UADMIN") is None
    previous = await call(first.links.set, "U1", "310", "UADMIN")
    assert previous is not None and previous.extension == "309"
    assert previous.linked_at.endswith("Z")
    await call(first.links.set, "U2", "310", "UADMIN")
    await call(first.close)
    again = await open_store()
    assert (await call(again.links.get, "U1")).extension == "310"
    assert await call(again.links.users_with, "310") == ["U1", "U2"]
    assert await call(again.links.users_with, "999") == []
    assert [link.user_id for link in await call(again.links.all)] == ["U1", "U2"]
    assert (await call(again.links.remove, "U1")).extension == "310"
    assert await call(again.links.remove, "U1") is None
    assert await call(again.links.count) == 1
    assert await call(again.check) == "ok"


async def test_duplicate_guard_holds_for_ten_seconds_then_frees(store: Any, clock: Clock) -> None:
    first = await reserve(store)
    assert isinstance(first, Reserved)
    await finish(store, first.call_id, "placed", 200)
    clock.now += 3
    assert await reserve(store) == Held("duplicate", 7)
    assert isinstance(await reserve(store, dest="+15551234567"), Reserved)
    clock.now += 8
    assert isinstance(await reserve(store), Reserved)


async def test_a_call_still_waiting_on_the_pbx_blocks_a_repeat_however_long(
    store: Any, clock: Clock
) -> None:
    first = await reserve(store)
    clock.now += 12
    assert await reserve(store) == Held("duplicate", 10)
    await finish(store, first.call_id, "placed", 200, ms=12000)
    clock.now += 4
    assert await reserve(store) == Held("duplicate", 6)
    clock.now += 7
    assert isinstance(await reserve(store), Reserved)


async def test_endings_that_may_have_rung_block_a_repeat_and_failures_do_not(
    store: Any, clock: Clock
) -> None:
    unreadable = await reserve(store, dest="+15550000001")
    await finish(store, unreadable.call_id, "pbx_error", 502)
    timed_out = await reserve(store, dest="+15550000002")
    await finish(store, timed_out.call_id, "timeout", None)
    failed = await reserve(store, dest="+15550000003")
    await finish(store, failed.call_id, "no_devices", 400)
    clock.now += 2
    assert await reserve(store, dest="+15550000001") == Held("may_still_ring", 8)
    assert await reserve(store, dest="+15550000002") == Held("may_still_ring", 8)
    assert isinstance(await reserve(store, dest="+15550000003"), Reserved)


async def test_user_budget_counts_from_the_log(store: Any, clock: Clock) -> None:
    rate = Rate(3, 60)
    for n in range(3):
        assert isinstance(await reserve(store, dest=f"+1580867530{n}", user_rate=rate), Reserved)
        clock.now += 10
    assert await reserve(store, dest="+15808675309", user_rate=rate) == Held("user_rate", 30)
    assert isinstance(await reserve(store, user="U2", user_rate=rate), Reserved)
    clock.now += 31
    assert isinstance(await reserve(store, dest="+15808675309", user_rate=rate), Reserved)


async def test_pbx_budget_is_shared_across_processes_and_restarts(
    open_store: Opener, clock: Clock
) -> None:
    rate = Rate(5, 900)
    one, other = await open_store(owner="one"), await open_store(owner="other")
    for n in range(3):
        assert isinstance(await reserve(one, user=f"U{n}", pbx_rate=rate), Reserved)
    for n in range(3, 5):
        assert isinstance(await reserve(other, user=f"U{n}", pbx_rate=rate), Reserved)
    assert await call(one.calls.pbx_budget_left, rate) == 0
    await call(one.close)
    restarted = await open_store()
    held = await reserve(restarted, user="U9", pbx_rate=rate)
    assert held == Held("pbx_rate", 900)
    assert await call(restarted.calls.pbx_budget_left, Rate(8, 900)) == 3


async def test_one_process_429_pauses_every_process(open_store: Opener, clock: Clock) -> None:
    one, other = await open_store(owner="one"), await open_store(owner="other")
    await call(one.calls.pause_pbx, 45)
    assert await reserve(other) == Held("pbx_cooldown", 45)
    await call(other.calls.block_pbx_until, clock.now + 5)
    assert await reserve(one, user="U2") == Held("pbx_cooldown", 5)
    clock.now += 6
    assert isinstance(await reserve(one, user="U2"), Reserved)


async def test_refusals_and_holds_are_in_the_log(store: Any, clock: Clock) -> None:
    await call(
        store.calls.record_refusal,
        "U1",
        extension="309",
        destination="+18765551234",
        surface="slash",
        outcome="refused_region",
        typed="876 555 1234",
    )
    clock.now += 1
    await reserve(store)
    clock.now += 1
    await reserve(store)
    records = await call(store.calls.recent, user_id="U1")
    assert [record.outcome for record in records] == [
        "held_duplicate",
        "pending",
        "refused_region",
    ]
    assert records[-1].typed == "876 555 1234"
    assert records[0].at_utc.endswith("Z") and records[0].detail == "wait 10s"
    assert await call(store.calls.recent, user_id="U2") == []
    failures = await call(store.calls.recent_with_outcomes, ("refused_region", "x"), limit=5)
    assert [record.destination for record in failures] == ["+18765551234"]
    assert len(await call(store.calls.recent, limit=2)) == 2


async def test_old_rows_are_pruned(store: Any, clock: Clock) -> None:
    await reserve(store)
    clock.now += 91 * 86400
    await reserve(store)
    assert await call(store.calls.prune, 90) == 1
    assert len(await call(store.calls.recent)) == 1


async def test_calls_left_pending_by_a_crash_are_settled_but_still_counted(
    open_store: Opener, clock: Clock
) -> None:
    crashed = await open_store(owner="crashed")
    await call(crashed.processes.heartbeat)
    await reserve(crashed)
    clock.now += STALE_SECONDS + 1  # its heartbeat went stale: the process is gone
    survivor = await open_store()
    assert await call(survivor.processes.settle_interrupted) == 1
    assert await call(survivor.processes.settle_interrupted) == 0
    assert (await call(survivor.calls.recent))[0].outcome == "interrupted"
    held = await reserve(survivor, user="U2", pbx_rate=Rate(1, 900))
    assert isinstance(held, Held) and held.reason == "pbx_rate"


async def test_a_live_process_keeps_its_calls_in_flight(open_store: Opener, clock: Clock) -> None:
    """A rolling upgrade: the starting process leaves the draining one's pending call alone."""
    draining, starting = await open_store(owner="A"), await open_store(owner="B")
    await call(draining.processes.heartbeat)
    first = await reserve(draining)
    assert isinstance(first, Reserved)
    await call(starting.processes.heartbeat)
    clock.now += STALE_SECONDS - 1
    assert await call(starting.processes.settle_interrupted) == 0
    assert [r.outcome for r in await call(starting.calls.recent)] == ["pending"]
    assert await reserve(starting) == Held("duplicate", 10)
    held = await reserve(starting, dest="+15551234567", user_rate=Rate(1, 60))
    assert held.reason == "user_rate"
    await call(draining.processes.heartbeat)
    clock.now += STALE_SECONDS - 1
    assert await call(starting.processes.settle_interrupted) == 0
    await finish(draining, first.call_id, "placed", 200, ms=9)
    assert (await call(starting.calls.recent, user_id="U1", limit=5))[-1].outcome == "placed"


async def test_a_process_that_stops_beating_is_settled_and_one_that_left_is_forgotten(
    open_store: Opener, clock: Clock
) -> None:
    gone, left, me = [await open_store(owner=name) for name in ("gone", "left", "me")]
    for each in (gone, left, me):
        await call(each.processes.heartbeat)
    await reserve(gone, user="U1")
    await reserve(left, user="U2")
    await reserve(me, user="U3")
    await call(left.processes.leave)
    await call(left.processes.heartbeat)  # one still on its way: it does not bring the row back
    # A process that left with a call still pending (it should not) is gone at once.
    assert await call(me.processes.settle_interrupted) == 1
    clock.now += STALE_SECONDS / 2
    await call(me.processes.heartbeat)
    assert await call(me.processes.settle_interrupted) == 0  # "gone" is only late
    clock.now += STALE_SECONDS
    await call(me.processes.heartbeat)
    assert await call(me.processes.settle_interrupted) == 1
    outcomes = {r.user_id: r.outcome for r in await call(me.calls.recent)}
    assert outcomes == {"U1": "interrupted", "U2": "interrupted", "U3": "pending"}


async def test_a_request_is_claimed_once_even_across_processes(open_store: Opener) -> None:
    first, second = await open_store(), await open_store()
    await call(first.processes.heartbeat)  # both alive, as every running process is
    await call(second.processes.heartbeat)
    assert await call(first.claims.claim, "trigger:123.456.abc") is True
    assert await call(first.claims.claim, "trigger:123.456.abc") is False
    assert await call(second.claims.claim, "trigger:123.456.abc") is False
    assert await call(second.claims.claim, "trigger:other") is True


async def test_a_claim_is_forgotten_after_it_is_kept_long_enough(store: Any, clock: Clock) -> None:
    assert await call(store.claims.claim, "event:Ev1", keep_seconds=600) is True
    clock.now += 599
    assert await call(store.claims.claim, "event:Ev1", keep_seconds=600) is False
    clock.now += 602
    assert await call(store.claims.claim, "event:Ev1", keep_seconds=600) is True


async def test_a_request_with_several_names_is_a_repeat_if_any_was_claimed(store: Any) -> None:
    """A Socket Mode envelope: its envelope_id and its payload's trigger_id, in one claim."""
    assert await call(store.claims.claim, "envelope:E1", "trigger:T1") is True
    assert await call(store.claims.claim, "envelope:E2", "trigger:T1") is False
    assert await call(store.claims.claim, "envelope:E2") is False  # ...its id was recorded too
    assert await call(store.claims.claim, "envelope:E1", "trigger:T2") is False


async def test_pending_calls_from_before_owners_are_settled_only_when_old(
    store: Any, clock: Clock
) -> None:
    """A call logged with no owner (an older version) may belong to a live old process."""
    first = await reserve(store)
    await forget_owners(store, first.call_id)
    assert await call(store.processes.settle_interrupted) == 0
    clock.now += PENDING_LIMIT_SECONDS + 1
    assert await call(store.processes.settle_interrupted) == 1


async def forget_owners(store: Any, call_id: int) -> None:
    """Clear a call's owner as a version before owners would have left it."""
    if isinstance(store, Store):
        with store.database.writing() as db:
            db.execute("UPDATE calls SET owner = NULL WHERE id = ?", [call_id])
        return
    async with store.database.writing() as conn:
        await conn.execute("UPDATE calls SET owner = NULL WHERE id = %s", [call_id])
