"""The SQLite store: links, the audit log, and the budgets counted from it."""

from __future__ import annotations

import os
import resource
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import sqlite_utils

from bot.domain.rates import Rate
from bot.store import Held, Reserved, Store, StoreBusy, StoreFailed, WouldWait, open_to_others
from bot.store.database import files_of
from bot.store.processes import HEALTHY_BEAT_SECONDS, PENDING_LIMIT_SECONDS, STALE_SECONDS

ROOMY = Rate(100, 60)


class Clock:
    """A settable clock."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Store:
    return Store(str(tmp_path / "dialer.db"), clock=clock)


def reserve(store: Store, user: str = "U1", dest: str = "+15808675309", **kw) -> Reserved | Held:
    kw.setdefault("user_rate", ROOMY)
    kw.setdefault("pbx_rate", ROOMY)
    return store.calls.reserve(user, extension="309", destination=dest, surface="slash", **kw)


def test_links_are_kept_by_user_id_and_survive_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "dialer.db")
    first = Store(path)
    assert first.links.set("U1", "309", "UADMIN") is None
    previous = first.links.set("U1", "310", "UADMIN")
    assert previous is not None and previous.extension == "309"
    first.links.set("U2", "310", "UADMIN")
    first.close()
    again = Store(path)
    assert again.links.get("U1").extension == "310"
    assert again.links.users_with("310") == ["U1", "U2"]
    assert [link.user_id for link in again.links.all()] == ["U1", "U2"]
    assert again.links.remove("U1").extension == "310"
    assert again.links.remove("U1") is None
    assert again.links.count() == 1


def test_schema_is_migrated_and_wal_is_on(store: Store) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = {row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations")}
    assert "m001_links_and_calls" in names
    assert store.check() == "ok"


def test_duplicate_guard_holds_for_ten_seconds_then_frees(store: Store, clock: Clock) -> None:
    first = reserve(store)
    assert isinstance(first, Reserved)
    store.calls.finish(first.call_id, outcome="placed", sent=True, pbx_status=200, latency_ms=5)
    clock.now += 3
    held = reserve(store)
    assert held == Held("duplicate", 7)
    assert isinstance(reserve(store, dest="+15551234567"), Reserved)
    clock.now += 8
    assert isinstance(reserve(store), Reserved)


def test_a_call_still_waiting_on_the_pbx_blocks_a_repeat_however_long(
    store: Store, clock: Clock
) -> None:
    first = reserve(store)
    clock.now += 12
    assert reserve(store) == Held("duplicate", 10)
    store.calls.finish(first.call_id, outcome="placed", sent=True, pbx_status=200, latency_ms=12000)
    clock.now += 4
    assert reserve(store) == Held("duplicate", 6)
    clock.now += 7
    assert isinstance(reserve(store), Reserved)


def test_an_unreadable_pbx_answer_may_have_rung_so_it_blocks_a_repeat(
    store: Store, clock: Clock
) -> None:
    first = reserve(store)
    store.calls.finish(first.call_id, outcome="pbx_error", sent=True, pbx_status=502, latency_ms=9)
    clock.now += 2
    assert reserve(store) == Held("may_still_ring", 8)


def test_a_failed_call_does_not_block_a_retry(store: Store, clock: Clock) -> None:
    first = reserve(store)
    store.calls.finish(first.call_id, outcome="no_devices", sent=True, pbx_status=400, latency_ms=5)
    clock.now += 1
    assert isinstance(reserve(store), Reserved)


def test_a_timed_out_call_may_still_ring_so_it_blocks_a_repeat(store: Store, clock: Clock) -> None:
    first = reserve(store)
    store.calls.finish(first.call_id, outcome="timeout", sent=True, pbx_status=None, latency_ms=15)
    clock.now += 1
    assert reserve(store) == Held("may_still_ring", 9)


def test_user_budget_counts_from_the_log(store: Store, clock: Clock) -> None:
    rate = Rate(3, 60)
    for n in range(3):
        assert isinstance(reserve(store, dest=f"+1580867530{n}", user_rate=rate), Reserved)
        clock.now += 10
    held = reserve(store, dest="+15808675309", user_rate=rate)
    assert held == Held("user_rate", 30)
    assert isinstance(reserve(store, user="U2", user_rate=rate), Reserved)
    clock.now += 31
    assert isinstance(reserve(store, dest="+15808675309", user_rate=rate), Reserved)


def test_pbx_budget_is_shared_and_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    path = str(tmp_path / "dialer.db")
    rate = Rate(5, 900)
    store = Store(path, clock=clock)
    for n in range(5):
        assert isinstance(reserve(store, user=f"U{n}", pbx_rate=rate), Reserved)
    store.close()
    restarted = Store(path, clock=clock)
    held = reserve(restarted, user="U9", pbx_rate=rate)
    assert isinstance(held, Held) and held.reason == "pbx_rate" and held.wait_seconds == 900


def test_concurrent_reservations_never_overspend(store: Store) -> None:
    rate = Rate(20, 900)
    results: list[object] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        result = reserve(store, user=f"U{n}", pbx_rate=rate)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(r, Reserved) for r in results) == 20


def test_pbx_cooldown_holds_every_call(store: Store, clock: Clock) -> None:
    store.calls.block_pbx_until(clock.now + 45)
    held = reserve(store)
    assert held == Held("pbx_cooldown", 45)


def test_refusals_and_holds_are_in_the_log(store: Store, clock: Clock) -> None:
    store.calls.record_refusal(
        "U1", extension="309", destination="+18765551234", surface="slash", outcome="refused_region"
    )
    reserve(store)
    reserve(store)
    outcomes = [record.outcome for record in store.calls.recent(user_id="U1")]
    assert outcomes == ["held_duplicate", "pending", "refused_region"]
    assert store.calls.recent(user_id="U1")[0].at_utc.endswith("Z")


def test_old_rows_are_pruned(store: Store, clock: Clock) -> None:
    reserve(store)
    clock.now += 91 * 86400
    reserve(store)
    assert store.calls.prune(90) == 1
    assert len(store.calls.recent()) == 1


def test_a_locked_database_fails_clearly_and_writes_nothing(store: Store) -> None:
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy):
            store.links.set("U1", "309", "UADMIN")
    finally:
        other.execute("ROLLBACK")
    assert store.links.get("U1") is None


def test_calls_left_pending_by_a_crash_are_settled_but_still_counted(
    tmp_path: Path, clock: Clock
) -> None:
    path = str(tmp_path / "dialer.db")
    crashed = Store(path, clock=clock, owner="crashed")
    crashed.processes.heartbeat()
    reserve(crashed)
    clock.now += STALE_SECONDS + 1  # its heartbeat went stale: the process is gone
    store = Store(path, clock=clock)
    assert store.processes.settle_interrupted() == 1
    record = store.calls.recent()[0]
    assert record.outcome == "interrupted"
    held = reserve(store, user="U2", pbx_rate=Rate(1, 900))
    assert isinstance(held, Held) and held.reason == "pbx_rate"


def test_a_live_process_keeps_its_calls_in_flight(tmp_path: Path, clock: Clock) -> None:
    """A rolling upgrade: the starting process leaves the draining one's pending call alone."""
    path = str(tmp_path / "dialer.db")
    draining, starting = Store(path, clock=clock, owner="A"), Store(path, clock=clock, owner="B")
    draining.processes.heartbeat()
    first = reserve(draining)
    assert isinstance(first, Reserved)
    starting.processes.heartbeat()
    clock.now += STALE_SECONDS - 1
    assert starting.processes.settle_interrupted() == 0
    assert [r.outcome for r in starting.calls.recent()] == ["pending"]
    # The duplicate guard and the budgets see the other process's call in flight.
    # 14 s after it began: past the 10-second window, yet it is still in flight.
    assert reserve(starting) == Held("duplicate", 10)
    assert reserve(starting, dest="+15551234567", user_rate=Rate(1, 60)).reason == "user_rate"
    # Its heartbeat keeps it alive; it finishes its own call.
    draining.processes.heartbeat()
    clock.now += STALE_SECONDS - 1
    assert starting.processes.settle_interrupted() == 0
    draining.calls.finish(first.call_id, outcome="placed", sent=True, pbx_status=200, latency_ms=9)
    assert starting.calls.recent(user_id="U1", limit=5)[-1].outcome == "placed"


def test_a_process_that_stops_beating_is_settled_and_one_that_left_is_forgotten(
    tmp_path: Path, clock: Clock
) -> None:
    path = str(tmp_path / "dialer.db")
    gone, left, me = (Store(path, clock=clock, owner=name) for name in ("gone", "left", "me"))
    for store in (gone, left, me):
        store.processes.heartbeat()
    reserve(gone, user="U1")
    reserve(me, user="U3")
    left.processes.leave()
    left.processes.heartbeat()  # one still on its way: it does not bring the row back
    clock.now += STALE_SECONDS / 2
    me.processes.heartbeat()
    assert me.processes.settle_interrupted() == 0  # "gone" is only late, not yet stale
    clock.now += STALE_SECONDS
    me.processes.heartbeat()
    assert me.processes.settle_interrupted() == 1
    assert {r.user_id: r.outcome for r in me.calls.recent()} == {
        "U1": "interrupted",
        "U3": "pending",
    }
    with closing(sqlite3.connect(path)) as conn:
        assert [row[0] for row in conn.execute("SELECT owner FROM processes")] == ["me"]
        assert conn.execute("SELECT owner FROM calls WHERE user_id = 'U3'").fetchone() == ("me",)


def test_pending_calls_from_before_owners_are_settled_only_when_old(
    store: Store, clock: Clock
) -> None:
    """A call logged by a version that recorded no owner may belong to a live old process."""
    reserve(store)
    with closing(sqlite3.connect(store.path, isolation_level=None)) as conn:
        conn.execute("UPDATE calls SET owner = NULL")
    assert store.processes.settle_interrupted() == 0
    clock.now += PENDING_LIMIT_SECONDS + 1
    assert store.processes.settle_interrupted() == 1


def test_without_waiting_a_locked_write_fails_at_once(store: Store) -> None:
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(WouldWait), store.without_waiting():
            store.links.set("U1", "309", "UADMIN")
        assert time.monotonic() - started < 0.5
        assert store.links.get("U1") is None
    finally:
        other.execute("ROLLBACK")
    with store.without_waiting():
        store.links.set("U1", "309", "UADMIN")
    assert store.links.get("U1").extension == "309"


def test_a_request_is_claimed_once_even_across_processes(tmp_path: Path, clock: Clock) -> None:
    path = str(tmp_path / "dialer.db")
    first, second = Store(path, clock=clock), Store(path, clock=clock)
    first.processes.heartbeat()  # both alive, as every running process is
    second.processes.heartbeat()
    assert first.claims.claim("trigger:123.456.abc") is True
    assert first.claims.claim("trigger:123.456.abc") is False
    assert second.claims.claim("trigger:123.456.abc") is False
    assert second.claims.claim("trigger:other") is True


def test_a_claim_of_a_process_that_died_before_acting_is_taken_over(
    tmp_path: Path, clock: Clock
) -> None:
    """Killed between claiming and acking: the request resent to another process is acted on."""
    path = str(tmp_path / "dialer.db")
    killed, survivor = Store(path, clock=clock), Store(path, clock=clock)
    killed.processes.heartbeat()
    survivor.processes.heartbeat()
    assert killed.claims.claim("trigger:T1", "envelope:E1") is True
    assert survivor.claims.claim("trigger:T1", "envelope:E2") is False  # still alive: a repeat
    clock.now += 20  # the killed process's heartbeat goes stale; the survivor's is renewed
    survivor.processes.heartbeat()
    assert survivor.claims.claim("trigger:T1", "envelope:E3") is True  # taken over, once
    assert survivor.claims.claim("trigger:T1", "envelope:E4") is False
    assert killed.claims.claim("trigger:T1") is False  # back from the dead: not its any more


def test_a_claim_acted_on_stays_a_repeat_even_after_its_process_is_gone(
    tmp_path: Path, clock: Clock
) -> None:
    path = str(tmp_path / "dialer.db")
    first, second = Store(path, clock=clock), Store(path, clock=clock)
    first.processes.heartbeat()
    assert first.claims.claim("trigger:T1") is True
    first.claims.acted("trigger:T1")
    first.processes.leave()
    clock.now += 20
    second.processes.heartbeat()
    assert second.claims.claim("trigger:T1") is False


def test_a_claim_is_forgotten_after_it_is_kept_long_enough(store: Store, clock: Clock) -> None:
    assert store.claims.claim("event:Ev1", keep_seconds=600) is True
    clock.now += 599
    assert store.claims.claim("event:Ev1", keep_seconds=600) is False
    clock.now += 602
    assert store.claims.claim("event:Ev1", keep_seconds=600) is True


def test_a_request_with_several_names_is_a_repeat_if_any_was_claimed(store: Store) -> None:
    """A Socket Mode envelope: its envelope_id and its payload's trigger_id, in one claim."""
    assert store.claims.claim("envelope:E1", "trigger:T1") is True
    assert store.claims.claim("envelope:E2", "trigger:T1") is False  # redelivered, new envelope
    assert store.claims.claim("envelope:E2") is False  # ...whose id was recorded too
    assert store.claims.claim("envelope:E1", "trigger:T2") is False


def test_a_claim_gives_up_quickly_when_another_writer_holds_the_file(store: Store) -> None:
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusy):
            store.claims.claim("trigger:T1")
        assert time.monotonic() - started < 1.0
    finally:
        other.execute("ROLLBACK")
    assert store.claims.claim("trigger:T1") is True


def read_only_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the store's new connections open the file read-only (as for a chmod 444)."""
    connect = sqlite3.connect

    def read_only(path: str, **kwargs: object) -> sqlite3.Connection:
        return connect(f"file:{path}?mode=ro", uri=True, **kwargs)

    monkeypatch.setattr("bot.store.database.sqlite3.connect", read_only)


def test_a_read_only_file_is_named_and_the_store_recovers_when_it_is_writable(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.close()
    read_only_connections(monkeypatch)
    assert store.links.get("U1") is None  # reading still works
    with pytest.raises(StoreFailed) as failed:
        store.links.set("U1", "309", "UADMIN")
    assert failed.value.cause == "read-only"
    assert "DIALER_DB is read-only (attempt to write a readonly database)" in str(failed.value)
    monkeypatch.undo()  # writable again
    assert store.links.set("U1", "309", "UADMIN") is None
    assert store.links.get("U1").extension == "309"


def test_a_connection_opened_while_read_only_does_not_outlive_it(store: Store) -> None:
    """One opened for a read while the file was read-only stays so: a write replaces it."""
    read_only = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, isolation_level=None)
    store.database._local.db = sqlite_utils.Database(read_only)
    assert store.links.set("U1", "309", "UADMIN") is None
    assert store.links.get("U1").extension == "309"


def test_a_full_disk_is_named_nothing_is_half_written_and_the_store_recovers(
    store: Store,
) -> None:
    db = store.database.connection()
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(StoreFailed) as failed:
        for n in range(200):  # fill the last free pages, then one more
            store.calls.record_refusal(
                f"U{n}", extension=None, destination=None, surface="slash", outcome="x" * 900
            )
    assert failed.value.cause == "full"
    assert "the disk holding DIALER_DB is full (database or disk is full)" in str(failed.value)
    written = len(store.calls.recent(limit=500))
    with closing(sqlite3.connect(store.path)) as conn:
        assert conn.execute("SELECT count(*) FROM calls").fetchone() == (written,)
    # Space again (the connection that hit the limit was replaced): the next write works.
    assert isinstance(reserve(store, user="UNEXT"), Reserved)


def test_an_io_error_is_a_failing_disk() -> None:
    failing = sqlite3.OperationalError("disk I/O error")
    failing.sqlite_errorcode = 778  # SQLITE_IOERR_WRITE
    assert StoreFailed(failing).cause == "failing"
    assert "check the disk" in str(StoreFailed(failing))


# --- private files, durable commits, a file replaced underneath, health --------------------------


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@contextmanager
def no_room_to_write() -> Iterator[None]:
    """No file this process writes may grow or change (RLIMIT_FSIZE 1: Python ignores SIGXFSZ,
    so a write fails with EFBIG, as SQLite sees a disk that takes no more)."""
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, limits[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o000, 0o277])
def test_the_database_and_its_side_files_are_private_whatever_the_umask(
    tmp_path: Path, mask: int
) -> None:
    path = str(tmp_path / "dialer.db")
    with umask(mask):
        store = Store(path)
        store.links.set("U1", "309", "UADMIN")  # the -wal and -shm exist while it is open
        assert {name: mode(name) for name in files_of(path)} == {
            path: 0o600,
            path + "-wal": 0o600,
            path + "-shm": 0o600,
        }
        assert open_to_others(path) == []
        store.close()


def test_an_existing_file_keeps_its_mode_and_its_side_files_are_no_more_open(
    tmp_path: Path,
) -> None:
    """An operator's file is not chmodded behind their back; stale side files are narrowed."""
    path = str(tmp_path / "dialer.db")
    Store(path).close()
    os.chmod(path, 0o640)
    Path(path + "-shm").touch(mode=0o666)
    os.chmod(path + "-shm", 0o666)
    with umask(0o022):
        store = Store(path)
        store.links.set("U1", "309", "UADMIN")
    assert mode(path) == 0o640
    assert mode(path + "-wal") == 0o640 and mode(path + "-shm") == 0o640
    assert open_to_others(path) == [(path, 0o640), (path + "-wal", 0o640), (path + "-shm", 0o640)]
    store.close()


def test_every_commit_is_flushed_to_disk(store: Store) -> None:
    assert store.database.connection().execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_the_write_probe_fails_on_a_read_only_file_and_leaves_nothing_behind(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.probe_write()
    store.close()
    read_only_connections(monkeypatch)
    with pytest.raises(StoreFailed) as failed:
        store.probe_write()
    assert failed.value.cause == "read-only"
    monkeypatch.undo()
    store.probe_write()
    with closing(sqlite3.connect(store.path)) as conn:
        assert conn.execute("SELECT count(*) FROM pbx_state").fetchone() == (0,)


def test_the_write_probe_reaches_the_disk_where_a_rolled_back_write_would_not(
    store: Store,
) -> None:
    """A write rolled back never leaves memory, so it passes on a full disk: the probe commits."""
    db = store.database.connection()
    with no_room_to_write():
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO pbx_state (key, value) VALUES ('x', 1)")
        db.execute("ROLLBACK")  # no error: nothing was written
        with pytest.raises(StoreFailed) as failed:
            store.probe_write()
    assert failed.value.cause == "failing"
    store.probe_write()  # room again


def test_a_deleted_file_is_noticed_before_the_next_write(store: Store) -> None:
    store.links.set("U1", "309", "UADMIN")
    assert store.health().ok
    os.remove(store.path)
    expected = (
        f"DIALER_DB {store.path} was deleted or moved while the bot was running; nothing more "
        "is written to it: restart the bot once the right file is in place"
    )
    for write in (
        lambda: store.links.set("U2", "310", "UADMIN"),
        lambda: reserve(store),
        store.processes.heartbeat,
    ):
        with pytest.raises(StoreFailed) as failed:
            write()
        assert failed.value.cause == "replaced" and str(failed.value) == expected
    assert store.links.get("U1") is not None  # this thread's connection still reads

    def read_on_a_new_connection() -> None:
        with pytest.raises(StoreFailed, match="was deleted or moved"):
            store.links.get("U1")

    reader = threading.Thread(target=read_on_a_new_connection)
    reader.start()
    reader.join()
    assert not os.path.exists(store.path), "an empty file was created in its place"
    health = store.health()
    assert (health.ok, health.problem, health.detail) == (False, "replaced", expected)


def test_a_file_replaced_by_another_is_noticed_and_never_written(
    tmp_path: Path, store: Store
) -> None:
    other = Store(str(tmp_path / "backup.db"))
    other.links.set("UOLD", "400", "UADMIN")
    other.close()
    os.replace(tmp_path / "backup.db", store.path)
    with pytest.raises(StoreFailed, match="was replaced by another file while the bot"):
        store.links.set("U1", "309", "UADMIN")
    # Even once the file is back where it was, the process stays refused until restarted.
    with pytest.raises(StoreFailed, match="replaced by another file"):
        store.links.set("U1", "309", "UADMIN")
    assert Store(store.path).links.get("U1") is None


def test_health_follows_the_last_write_and_the_heartbeat(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store.health().ok  # no heartbeat yet: nothing to be late
    store.processes.heartbeat()
    assert store.health().ok and store.health().heartbeat_age is not None
    store.close()
    read_only_connections(monkeypatch)
    with pytest.raises(StoreFailed):
        store.processes.heartbeat()
    health = store.health()
    assert (health.ok, health.problem) == (False, "read-only")
    assert health.detail.startswith("DIALER_DB is read-only")
    assert store.links.get("U1") is None  # a read does not make it healthy
    assert not store.health().ok
    monkeypatch.undo()
    store.processes.heartbeat()
    assert store.health().ok
    store.database._last_beat = time.monotonic() - HEALTHY_BEAT_SECONDS - 1
    assert store.health().problem == "stale"
    assert "heartbeat was last written" in store.health().detail


def test_a_busy_database_is_not_a_failed_write(store: Store) -> None:
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy), store.without_waiting():
            store.links.set("U1", "309", "UADMIN")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.health().ok


def test_an_outcome_written_late_keeps_when_the_call_ended(store: Store, clock: Clock) -> None:
    first = reserve(store)
    assert isinstance(first, Reserved)
    ended = clock.now
    clock.now += 60
    store.calls.finish(
        first.call_id, outcome="placed", sent=True, pbx_status=200, latency_ms=5, finished_at=ended
    )
    assert isinstance(reserve(store), Reserved)  # the window ran from `ended`
