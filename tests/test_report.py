"""`python -m bot report`: the audit log's counts, from known rows, with DIALER_DB alone."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from bot.domain.rates import Rate
from bot.store import Reserved, Store
from tests.cliproc import InProcess

DAY = 86400.0
RATE = Rate(1000, 60)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    """`python -m bot …` in this process, with only the settings a test gives."""
    return InProcess(monkeypatch, capsys)


def placed(store: Store, user: str, extension: str, destination: str) -> int:
    """A call the PBX accepted; answer its row id."""
    slot = store.calls.reserve(
        user, extension=extension, destination=destination, surface="slash",
        user_rate=RATE, pbx_rate=RATE,
    )  # fmt: skip
    assert isinstance(slot, Reserved)
    store.calls.finish(slot.call_id, outcome="placed", sent=True, pbx_status=200, latency_ms=5)
    return slot.call_id


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A call log with known rows: two days ago, yesterday, and one 10 days ago."""
    path = str(tmp_path / "dialer.db")
    now = time.time()
    at = {"t": now - 10 * DAY}
    store = Store(path, clock=lambda: at["t"])
    try:
        # Ten days ago: outside the default week.
        old = placed(store, "UALICE001", "311", "+15808675309")
        store.answers.answer(old, user_id="UALICE001", answer="didnt_ring")
        at["t"] = now - 2 * DAY
        # Two days ago: three placed calls on 309 (two said didn't ring), one refusal.
        a = placed(store, "UALICE001", "309", "+15808675309")
        b = placed(store, "UBOB00001", "309", "+16045550143")
        c = placed(store, "UCAROL001", "309", "+12125550188")
        store.answers.answer(a, user_id="UALICE001", answer="didnt_ring")
        store.answers.answer(b, user_id="UBOB00001", answer="didnt_ring")
        store.answers.answer(c, user_id="UCAROL001", answer="connected")
        store.calls.record_refusal(
            "UALICE001", extension="309", destination="911", surface="slash",
            outcome="refused_emergency",
        )  # fmt: skip
        # Yesterday: one placed on 310 that didn't ring, one left unanswered, one PBX failure.
        at["t"] = now - DAY
        d = placed(store, "UDAVE0001", "310", "+15808675309")
        store.answers.answer(d, user_id="UDAVE0001", answer="didnt_ring")
        placed(store, "UDAVE0001", "310", "+16045550143")
        slot = store.calls.reserve(
            "UERIN0001", extension="312", destination="+15808675309", surface="modal",
            user_rate=RATE, pbx_rate=RATE,
        )  # fmt: skip
        assert isinstance(slot, Reserved)
        store.calls.finish(slot.call_id, outcome="no_devices", sent=True, pbx_status=400,
                           latency_ms=5)  # fmt: skip
    finally:
        store.close()
    return path


def day(offset_days: float) -> str:
    """The UTC date `offset_days` ago."""
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - offset_days * DAY))


def test_json_report_counts_the_known_rows(run: InProcess, db: str) -> None:
    done = run(["report", "--format", "json"], {"DIALER_DB": db})
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert report["days"] == 7 and report["calls"] == 7
    assert report["calls_per_day"] == [
        {"day": day(2), "calls": 4},
        {"day": day(1), "calls": 3},
    ]
    assert report["outcomes"] == {"placed": 5, "refused_emergency": 1, "no_devices": 1}
    assert report["answers"] == {"connected": 1, "didnt_ring": 3, "no_answer": 0, "none": 1}
    by_extension = [(r["extension"], r["count"]) for r in report["didnt_ring_by_extension"]]
    assert by_extension == [("309", 2), ("310", 1)]
    assert report["didnt_ring_by_extension"][0]["last"].startswith(day(2))


def test_a_longer_period_reaches_older_rows(run: InProcess, db: str) -> None:
    report = json.loads(run(["report", "--days", "30", "--format", "json"], {"DIALER_DB": db}).out)
    assert report["calls"] == 8
    by_extension = [(r["extension"], r["count"]) for r in report["didnt_ring_by_extension"]]
    assert by_extension == [("309", 2), ("310", 1), ("311", 1)]


def test_csv_and_table_say_the_same(run: InProcess, db: str) -> None:
    done = run(["report", "--format", "csv"], {"DIALER_DB": db})
    rows = list(csv.DictReader(io.StringIO(done.out)))
    assert {"section": "answer", "key": "didnt_ring", "count": "3", "last": ""} in rows
    assert [r["key"] for r in rows if r["section"] == "didnt_ring"] == ["309", "310"]
    table = run(["report"], {"DIALER_DB": db}).out
    assert "Callers' answers (placed calls)" in table and "didnt_ring  3" in table
    assert "extension 309  2  (last " in table


@pytest.mark.parametrize("days", ["0", "-3", "week", "99999"])
def test_bad_days_are_a_usage_error(run: InProcess, db: str, days: str) -> None:
    done = run(["report", "--days", days], {"DIALER_DB": db})
    assert done.code == 2 and "--days" in done.err


def test_a_missing_database_is_one_line(run: InProcess, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.db")
    done = run(["report"], {"DIALER_DB": missing})
    assert done.code == 2 and "does not exist" in done.err
    assert not Path(missing).exists()
