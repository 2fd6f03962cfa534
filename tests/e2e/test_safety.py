"""Dialing safety end to end: the shared PBX budget holds across a restart of the process.

The destination policy, the duplicate guard, the per-user budget and the audit log are tested
in-process (tests/inproc/test_safety.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import World
from tests.waiting import assert_stays
from tests.workspace import seed_links


def test_pbx_budget_is_shared_and_survives_a_restart(tmp_path, pbx, slack) -> None:
    setup = World(tmp_path, pbx, slack)
    users = [f"UBUDGET{n:02d}" for n in range(30)]
    seed_links(setup.db_path, {user: str(500 + n) for n, user in enumerate(users)})
    setup.start(DIALER_PBX_RATE="20/900")
    try:
        with ThreadPoolExecutor(max_workers=30) as pool:
            results = list(pool.map(lambda u: setup.dial("580-867-5309", user=u), users))
        calling = [ack for _, ack, _ in results if "Calling" in ack["text"]]
        waiting = [ack for _, ack, _ in results if "try again in" in ack["text"]]
        assert len(calling) == 20 and len(waiting) == 10
        assert_stays(lambda: pbx.requests <= 20, for_seconds=0.5, what="at most 20 PBX requests")
        setup.stop()
        setup.start()
        _, ack, _ = setup.dial("604-555-0143", user=users[0])
        assert "used up its calls" in ack["text"]
        assert pbx.requests <= 20
    finally:
        setup.stop()
