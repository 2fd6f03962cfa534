"""One store contract, two backends: every test here runs on SQLite and on PostgreSQL.

The services call the store through StoreRunner and never know which database they have, so
both backends must give the same answers. SQLite's methods are plain calls and PostgreSQL's are
coroutines: `call` runs either. Tests of one backend's internals (SQLite's file modes and locks,
PostgreSQL's migrations lock and errors) are in tests/test_store.py and tests/test_store_pg.py.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.domain.directory import DIRECTORY, HAND, Verdict
from bot.domain.extensions import linkable_problem
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


async def test_a_claim_of_a_process_that_died_before_acting_is_taken_over(
    open_store: Opener, clock: Clock
) -> None:
    """Killed between claiming and acking: the request resent to another process is acted on."""
    killed, survivor = await open_store(owner="killed"), await open_store(owner="survivor")
    await call(killed.processes.heartbeat)
    await call(survivor.processes.heartbeat)
    assert await call(killed.claims.claim, "trigger:T1", "envelope:E1") is True
    assert await call(survivor.claims.claim, "trigger:T1", "envelope:E2") is False  # alive
    clock.now += STALE_SECONDS + 5  # the killed process's heartbeat goes stale
    await call(survivor.processes.heartbeat)
    assert await call(survivor.claims.claim, "trigger:T1", "envelope:E3") is True  # once
    assert await call(survivor.claims.claim, "trigger:T1", "envelope:E4") is False
    assert await call(survivor.claims.claim, "envelope:E2") is False  # a repeat's names stay
    assert await call(killed.claims.claim, "trigger:T1") is False  # back: not its any more


async def test_a_claim_of_a_process_killed_on_this_host_is_taken_over_at_once(
    open_store: Opener, clock: Clock
) -> None:
    """A SIGKILLed replica on the same host is known gone by its pid, without waiting 15 s."""
    killed, survivor = await open_store(owner="killed"), await open_store(owner="survivor")
    await call(killed.processes.heartbeat)
    await call(survivor.processes.heartbeat)
    assert await call(killed.claims.claim, "trigger:T1") is True
    await write_pid(killed, pid_not_running())
    assert await call(survivor.claims.claim, "trigger:T1") is True  # no 15 s wait


async def test_a_claim_not_acted_on_within_slack_s_ack_window_may_be_acted_on_by_another(
    open_store: Opener, clock: Clock
) -> None:
    slow, other = await open_store(owner="slow"), await open_store(owner="other")
    await call(slow.processes.heartbeat)
    await call(other.processes.heartbeat)
    assert await call(slow.claims.claim, "trigger:T1") is True
    assert await call(other.claims.claim, "trigger:T1") is False  # still within 3 s
    clock.now += 3.5  # Slack has given up on the ack and resends
    assert await call(other.claims.claim, "trigger:T1") is True


def pid_not_running() -> int:
    """A pid no process on this host has (as a SIGKILLed replica's would be)."""
    for pid in range(4_194_000, 4_000_000, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise AssertionError("every pid tried is in use")


async def write_pid(store: Any, pid: int) -> None:
    """Make a store's process row name another pid (as a killed process's row would)."""
    if isinstance(store, Store):
        with store.database.writing() as db:
            db.execute("UPDATE processes SET pid = ? WHERE owner = ?", [pid, store.owner])
        return
    async with store.database.writing() as conn:
        await conn.execute("UPDATE processes SET pid = %s WHERE owner = %s", [pid, store.owner])


async def test_a_claim_acted_on_stays_a_repeat_even_after_its_process_is_gone(
    open_store: Opener, clock: Clock
) -> None:
    first, second = await open_store(owner="first"), await open_store(owner="second")
    await call(first.processes.heartbeat)
    assert await call(first.claims.claim, "trigger:T1") is True
    assert await call(first.claims.claim, "trigger:T2") is True
    await call(first.claims.acted, "trigger:T1")
    await call(second.claims.acted, "trigger:T2")  # not its claim: changes nothing
    await call(first.processes.leave)
    clock.now += STALE_SECONDS + 5
    await call(second.processes.heartbeat)
    assert await call(second.claims.claim, "trigger:T1") is False
    assert await call(second.claims.claim, "trigger:T2") is True  # never acted on


async def test_a_claim_made_as_the_act_is_done_at_once(open_store: Opener, clock: Clock) -> None:
    first, second = await open_store(owner="first"), await open_store(owner="second")
    assert await call(first.claims.claim, "event:Ev1", done=True) is True
    clock.now += STALE_SECONDS + 5  # "first" never beat: gone, yet its act was recorded
    await call(second.processes.heartbeat)
    assert await call(second.claims.claim, "event:Ev1") is False


async def placed(store: Any, user: str = "UALICE001", dest: str = "+15808675309") -> int:
    slot = await reserve(store, user=user, dest=dest)
    assert isinstance(slot, Reserved)
    await finish(store, slot.call_id, "placed", 200)
    return slot.call_id


async def test_an_answer_is_written_once_changed_on_demand_and_only_by_its_caller(
    store: Any, clock: Clock
) -> None:
    call_id = await placed(store)
    assert await call(store.answers.answer, call_id, user_id="UBOB00001", answer="x") is None
    first = await call(store.answers.answer, call_id, user_id="UALICE001", answer="connected")
    assert first.previous is None and first.changed and first.record.answer == "connected"
    clock.now += 60
    again = await call(store.answers.answer, call_id, user_id="UALICE001", answer="connected")
    assert not again.changed
    changed = await call(store.answers.answer, call_id, user_id="UALICE001", answer="didnt_ring")
    assert changed.previous == "connected" and changed.record.answer == "didnt_ring"
    assert (await call(store.answers.call, call_id)).answer == "didnt_ring"
    assert (await call(store.calls.recent))[0].answer == "didnt_ring"
    assert await call(store.answers.didnt_ring_count, "309") == 1
    assert await call(store.answers.didnt_ring_count, "310") == 0
    assert await call(store.answers.call, call_id + 1000) is None
    pending = await reserve(store, dest="+15550000009")  # still with the PBX: not placed
    assert (
        await call(store.answers.answer, pending.call_id, user_id="UALICE001", answer="x") is None
    )


async def test_didnt_ring_is_counted_by_extension_and_the_report_sums_the_log(
    store: Any, clock: Clock
) -> None:
    for n, (user, answer) in enumerate([("U1", "didnt_ring"), ("U2", "didnt_ring"), ("U3", "")]):
        call_id = await placed(store, user=user, dest=f"+1555000000{n}")
        if answer:
            await call(store.answers.answer, call_id, user_id=user, answer=answer)
        clock.now += 1
    await call(
        store.calls.record_refusal, "U4", extension=None, destination=None, surface="slash",
        outcome="refused_unlinked",
    )  # fmt: skip
    clock.now += 86400
    top = await call(store.answers.top_didnt_ring, days=7, limit=5)
    assert [(t.extension, t.count, t.last_at) for t in top] == [("309", 2, 1_800_000_001.0)]
    summary = await call(store.answers.summary, days=7)
    assert summary.per_day == [("2027-01-15", 4)]
    assert summary.outcomes == {"placed": 3, "refused_unlinked": 1}
    assert list(summary.outcomes) == ["placed", "refused_unlinked"]
    assert summary.answers == {"didnt_ring": 2, "": 1}
    assert [t.count for t in summary.didnt_ring] == [2]
    assert summary.until - summary.since == 7 * 86400


async def test_a_notice_is_claimed_once_an_hour_per_admin_and_extension(
    open_store: Opener, clock: Clock
) -> None:
    one, other = await open_store(owner="one"), await open_store(owner="other")
    assert await call(one.answers.claim_notice, "309", "UADMIN001") is True
    assert await call(other.answers.claim_notice, "309", "UADMIN001") is False
    assert await call(other.answers.claim_notice, "309", "UOWNER001") is True
    assert await call(one.answers.claim_notice, "310", "UADMIN001") is True
    clock.now += 3599
    assert await call(other.answers.claim_notice, "309", "UADMIN001") is False
    clock.now += 2
    assert await call(other.answers.claim_notice, "309", "UADMIN001") is True
    await call(other.answers.release_notice, "309", "UADMIN001")  # not delivered
    assert await call(one.answers.claim_notice, "309", "UADMIN001") is True


def rule(value: str) -> Any:
    return linkable_problem(value, "US")


async def test_the_directory_links_follows_and_keeps_its_audit_rows(
    store: Any, clock: Clock
) -> None:
    await call(store.links.set, "U1", "309", "UADMIN")
    assert (await call(store.links.get, "U1")).source == HAND
    linked = await call(store.directory.follow, "U2", " 310 ", active=True, rule=rule)
    assert linked.decision.verdict == Verdict.LINK and not linked.new_conflict
    assert (await call(store.links.get, "U2")).source == DIRECTORY
    clock.now += 1
    changed = await call(store.directory.follow, "U2", "311", active=True, rule=rule)
    assert changed.decision.verdict == Verdict.CHANGE
    taken = await call(store.directory.follow, "U3", "309", active=True, rule=rule)
    assert taken.decision.verdict == Verdict.TAKEN and taken.decision.holder == "U1"
    assert taken.new_conflict
    clock.now += 1
    again = await call(store.directory.follow, "U3", "309", active=True, rule=rule)
    assert again.decision.verdict == Verdict.TAKEN and not again.new_conflict
    hand = await call(store.directory.follow, "U1", "312", active=True, rule=rule)
    assert hand.decision.verdict == Verdict.HAND and hand.new_conflict
    conflicts = await call(store.directory.conflicts)
    assert [(c.user_id, c.kind, c.value, c.holder, c.extension) for c in conflicts] == [
        ("U3", "taken", "309", "U1", ""),
        ("U1", "hand", "312", "", "309"),
    ]
    assert conflicts[0].first_at == 1_800_000_001.0  # still open since it was first seen
    assert await call(store.directory.conflict_count) == 2
    await call(store.directory.follow, "U3", "", active=True, rule=rule)  # agrees now: closed
    assert await call(store.directory.conflict_count) == 1
    removed = await call(store.directory.follow, "U2", "311", active=False, rule=rule)
    assert removed.decision.verdict == Verdict.REMOVE and await call(store.links.get, "U2") is None
    events = await call(store.directory.events)
    assert [(e.user_id, e.action, e.extension, e.previous) for e in events] == [
        ("U2", "removed", None, "311"),
        ("U2", "changed", "311", "310"),
        ("U2", "linked", "310", None),
    ]
    assert [e.action for e in await call(store.directory.events, "U2", limit=1)] == ["removed"]
    assert await call(store.directory.events, "U9") == []
    await call(store.directory.follow, "U4", "320", active=True, rule=rule)
    assert await call(store.directory.count) == 1
    assert await call(store.directory.recalled, "last sync") is None
    await call(store.directory.remember, "last sync", '{"n": 1}')
    await call(store.directory.remember, "last sync", '{"n": 2}')
    assert await call(store.directory.recalled, "last sync") == '{"n": 2}'


async def test_the_store_answers_its_clock_its_health_and_probes_a_write(
    store: Any, clock: Clock
) -> None:
    assert store.now() == clock.now
    assert store.health().ok and store.health().heartbeat_age is None
    await call(store.processes.heartbeat)
    health = store.health()
    assert health.ok and health.heartbeat_age is not None and health.heartbeat_age < 5
    await call(store.probe_write)
    assert await call(store.calls.recent) == []


async def test_a_late_outcome_keeps_when_the_call_ended(store: Any, clock: Clock) -> None:
    slot = await reserve(store)
    ended = clock.now + 1
    clock.now += 9  # written late: the duplicate window still runs from when it ended
    await call(
        store.calls.finish, slot.call_id, outcome="placed", sent=True, pbx_status=200,
        latency_ms=5, finished_at=ended,
    )  # fmt: skip
    assert await reserve(store) == Held("duplicate", 2)
