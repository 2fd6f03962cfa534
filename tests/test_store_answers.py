"""The store's part for callers' answers: written on the row once, pruned with it, notices."""

from __future__ import annotations

from pathlib import Path

from bot.domain.rates import Rate
from bot.store import Reserved, Store

RATE = Rate(1000, 60)


def placed_call(store: Store, user: str = "UALICE001") -> int:
    """A placed call on extension 309; answer its row id."""
    slot = store.calls.reserve(
        user, extension="309", destination="+15808675309", surface="slash",
        user_rate=RATE, pbx_rate=RATE,
    )  # fmt: skip
    assert isinstance(slot, Reserved)
    store.calls.finish(slot.call_id, outcome="placed", sent=True, pbx_status=200, latency_ms=5)
    return slot.call_id


def test_an_answer_is_written_once_changed_on_demand_and_only_by_its_caller(
    tmp_path: Path,
) -> None:
    now = {"t": 1_750_000_000.0}
    store = Store(str(tmp_path / "d.db"), clock=lambda: now["t"])
    call_id = placed_call(store)
    assert store.answers.answer(call_id, user_id="UBOB00001", answer="connected") is None
    first = store.answers.answer(call_id, user_id="UALICE001", answer="connected")
    assert first is not None and first.previous is None and first.changed
    now["t"] += 60
    again = store.answers.answer(call_id, user_id="UALICE001", answer="connected")
    assert again is not None and not again.changed
    row = store.database.connection().execute(
        "SELECT answered_at FROM calls WHERE id = ?", [call_id]
    )
    assert row.fetchone()[0] == 1_750_000_000.0
    changed = store.answers.answer(call_id, user_id="UALICE001", answer="didnt_ring")
    assert changed is not None and changed.previous == "connected" and changed.changed
    assert store.answers.didnt_ring_count("309") == 1


def test_answers_are_pruned_with_their_rows(tmp_path: Path) -> None:
    now = {"t": 1_750_000_000.0}
    store = Store(str(tmp_path / "d.db"), clock=lambda: now["t"])
    call_id = placed_call(store)
    store.answers.answer(call_id, user_id="UALICE001", answer="didnt_ring")
    now["t"] += 31 * 86400
    assert store.calls.prune(30) == 1
    assert store.answers.call(call_id) is None
    assert store.answers.top_didnt_ring(days=365) == []


def test_a_notice_is_claimed_once_an_hour_per_admin_and_extension(tmp_path: Path) -> None:
    now = {"t": 1_750_000_000.0}
    path = str(tmp_path / "d.db")
    store = Store(path, clock=lambda: now["t"])
    assert store.answers.claim_notice("309", "UADMIN001")
    assert not store.answers.claim_notice("309", "UADMIN001")
    assert store.answers.claim_notice("309", "UOWNER001")
    assert store.answers.claim_notice("310", "UADMIN001")
    reopened = Store(path, clock=lambda: now["t"] + 3599)  # a restart remembers
    assert not reopened.answers.claim_notice("309", "UADMIN001")
    now["t"] += 3601
    assert store.answers.claim_notice("309", "UADMIN001")
    store.answers.release_notice("309", "UADMIN001")  # not delivered: try again next time
    assert store.answers.claim_notice("309", "UADMIN001")
