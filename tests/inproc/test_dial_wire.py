"""/dial over the wire: signed HTTP requests in, one PBX call out, ephemeral replies back.

What /dial answers for each kind of input: tests/inproc/test_dial.py. Here: signatures on the
real HTTP adapter, and fifty dials at once against a slow PBX.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.fakes.signing import slash_command_body
from tests.inproc.harness import World


def test_signed_dial_places_one_call_and_forged_or_stale_ones_dial_nothing(world: World) -> None:
    body = slash_command_body(
        "/dial", "604-555-0143", user_id="UBOB00001", response_url=world.slack.response_url()
    )
    status, _ = world.post(body, signature="v0=" + "0" * 64)
    assert status == 401
    status, _ = world.post(body, secret="not-the-secret")
    assert status == 401
    status, _ = world.post(body, timestamp=int(time.time()) - 301)
    assert status == 401
    world.idle()
    assert world.pbx.requests == 0
    assert world.slack.response_posts == []

    status, ack, response_url = world.dial("580-867-5309")
    assert status == 200
    assert ack["response_type"] == "ephemeral"
    assert ack["text"].endswith("Calling +1 580-867-5309 from extension 309…")
    final = world.final_reply(response_url)
    assert "ringing" in final and "+1 580-867-5309" in final
    post = world.slack.posts_to(response_url)[0]
    assert post["response_type"] == "ephemeral"
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]


def test_fifty_concurrent_dials_against_a_slow_pbx_are_all_acked_and_placed_once(
    world: World,
) -> None:
    users = [f"ULOAD{n:04d}" for n in range(50)]
    world.seed_links({user: str(4000 + n) for n, user in enumerate(users)})
    world.pbx.latency = 2.0
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda u: world.dial("580-867-5309", user=u), users))
    assert [status for status, _, _ in results] == [200] * 50
    assert all("Calling" in ack["text"] for _, ack, _ in results)
    for _, _, response_url in results:
        assert "ringing" in world.final_reply(response_url, timeout=15)
    placed = sorted(c.extension for c in world.pbx.calls)
    assert placed == sorted(str(4000 + n) for n in range(50))
