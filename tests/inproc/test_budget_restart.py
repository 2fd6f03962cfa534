"""Dialing safety across a restart: the shared PBX budget is counted from the database.

The destination policy, the duplicate guard, the per-user budget and the audit log:
tests/inproc/test_safety.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.inproc.conftest import MakeWorld


def test_pbx_budget_is_shared_and_survives_a_restart(make_world: MakeWorld) -> None:
    setup = make_world(DIALER_PBX_RATE="20/900")
    pbx = setup.pbx
    users = [f"UBUDGET{n:02d}" for n in range(30)]
    setup.seed_links({user: str(500 + n) for n, user in enumerate(users)})
    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda u: setup.dial("580-867-5309", user=u), users))
    calling = [ack for _, ack, _ in results if "Calling" in ack["text"]]
    waiting = [ack for _, ack, _ in results if "try again in" in ack["text"]]
    assert len(calling) == 20 and len(waiting) == 10
    setup.idle()
    assert pbx.requests <= 20
    setup.restart()
    _, ack, _ = setup.dial("604-555-0143", user=users[0])
    assert "used up its calls" in ack["text"]
    setup.idle()
    assert pbx.requests <= 20
