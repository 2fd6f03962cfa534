"""Two bots on one DIALER_DB, in-process: a second leaves the first one's call in flight alone.

The finding: process B, starting on A's database, marked A's live call "interrupted", and the
same user's /dial through B 11 s later went to the PBX while the first was still pending. Both
bots share one clock, moved past the duplicate guard instead of waiting 11 s. A rolling
upgrade with real processes under a stream of dials: tests/e2e/test_handover.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.inproc.harness import FakeClock, World
from tests.waiting import wait_until


def test_a_second_process_leaves_the_first_ones_call_in_flight_alone(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack
) -> None:
    """B starts while A's call waits on a slow PBX: not interrupted, and a repeat is held."""
    clock = FakeClock()
    first = World(tmp_path, pbx, slack, clock=clock)
    second = World(tmp_path, pbx, slack, clock=clock)  # the same dialer.db
    one_a_minute = {"DIALER_USER_RATE": "1/60"}
    try:
        first.start(**one_a_minute)
        first.link_everyone()
        pbx.hang_next(3.0)
        _, ack, response_url = first.dial("580-867-5309")
        assert "Calling" in ack["text"]
        wait_until(lambda: pbx.requests == 1, what="the call to reach the PBX")

        second.start(**one_a_minute)
        assert "were in flight" not in second.log
        assert first.rows("SELECT outcome FROM calls") == [("pending",)]
        assert len(first.rows("SELECT owner FROM processes")) == 2

        clock.advance(11)  # past the duplicate guard's 10 s: only the pending call holds it
        _, ack, _ = second.dial("580-867-5309")
        assert ack["text"].startswith("Already calling +1 580-867-5309"), ack
        # The budgets count from the shared log too: A's call in flight spent Alice's one.
        _, ack, _ = second.dial("405-555-0143")
        assert "You've placed a lot of calls" in ack["text"], ack
        second.idle()
        assert pbx.requests == 1

        assert "ringing" in first.final_reply(response_url, timeout=10)
        first.idle()
        outcomes = [o for (o,) in first.rows("SELECT outcome FROM calls ORDER BY id")]
        assert outcomes == ["placed", "held_duplicate", "held_user_rate"]
        assert [(c.extension, c.phonenumber) for c in pbx.calls] == [("309", "15808675309")]
        first.stop()
        assert len(first.rows("SELECT owner FROM processes")) == 1  # A left cleanly
        assert "were in flight" not in first.log + second.log
    finally:
        second.close()
        first.close()
