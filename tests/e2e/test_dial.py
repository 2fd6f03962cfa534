"""/dial end to end: signed requests in, one PBX call out, ephemeral replies back."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import PBX_KEY, SIGNING_SECRET, World
from tests.fakes.signing import post_signed, slash_command_body


def test_dial_places_exactly_one_call_and_answers_ephemerally(world: World) -> None:
    status, ack, response_url = world.dial("580-867-5309")
    assert status == 200
    assert ack["response_type"] == "ephemeral"
    assert ack["text"].endswith("Calling +1 580-867-5309 from extension 309…")
    final = world.final_reply(response_url)
    assert "ringing" in final and "+1 580-867-5309" in final
    post = world.slack.posts_to(response_url)[0]
    assert post["response_type"] == "ephemeral"
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]


def test_plus_sign_arrives_percent_encoded_and_is_read(world: World) -> None:
    status, ack, _ = world.dial("+1 (580) 867.5309", user="UBOB00001")
    assert status == 200 and "from extension 310" in ack["text"]
    time.sleep(0.3)
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("310", "15808675309")]


def test_dial_without_text_shows_usage(world: World) -> None:
    _, ack, _ = world.dial("")
    assert "/dial 580-867-5309" in ack["text"]
    assert world.pbx.calls == []


def test_unreadable_number_is_quoted_back(world: World) -> None:
    _, ack, _ = world.dial("call mom please")
    assert "call mom please" in ack["text"]
    assert world.pbx.calls == []


def test_unlinked_user_is_told_to_ask_an_admin(world: World) -> None:
    _, ack, _ = world.dial("580-867-5309", user="UNOLINK01")
    assert "don't have a phone extension linked" in ack["text"]
    assert "UADMIN001" in ack["text"]
    assert world.pbx.calls == []


def test_dial_a_colleague_by_mention_calls_their_extension(world: World) -> None:
    _, ack, response_url = world.dial("<@UBOB00001|bob>")
    assert "Calling extension 310 from extension 309" in ack["text"]
    world.final_reply(response_url)
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "310")]


def test_dial_a_linked_extension_by_digits(world: World) -> None:
    _, ack, response_url = world.dial("311")
    assert "extension 311" in ack["text"]
    world.final_reply(response_url)
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "311")]


def test_short_digits_that_are_no_linked_extension_are_explained(world: World) -> None:
    _, ack, _ = world.dial("4321")
    assert "No one here is linked to extension 4321" in ack["text"]
    assert world.pbx.calls == []


def test_unlinked_colleague_is_explained(world: World) -> None:
    _, ack, _ = world.dial("<@UNOLINK01>")
    assert "<@UNOLINK01> has no extension linked" in ack["text"]
    assert world.pbx.calls == []


def test_forged_signature_is_refused_and_dials_nothing(world: World) -> None:
    body = slash_command_body(
        "/dial", "580-867-5309", user_id="UALICE001", response_url=world.slack.response_url()
    )
    status, _, _ = post_signed(world.url, body, SIGNING_SECRET, signature="v0=" + "0" * 64)
    assert status == 401
    status, _, _ = post_signed(world.url, body, "not-the-secret")
    assert status == 401
    time.sleep(0.3)
    assert world.pbx.calls == []


def test_stale_timestamp_is_refused_and_dials_nothing(world: World) -> None:
    body = slash_command_body(
        "/dial", "580-867-5309", user_id="UALICE001", response_url=world.slack.response_url()
    )
    status, _, _ = post_signed(world.url, body, SIGNING_SECRET, timestamp=int(time.time()) - 301)
    assert status == 401
    time.sleep(0.3)
    assert world.pbx.calls == []


def test_fifty_concurrent_dials_against_a_slow_pbx_are_all_acked_and_placed_once(
    world: World,
) -> None:
    users = [f"ULOAD{n:04d}" for n in range(50)]
    for n, user in enumerate(users):
        world.slack.add_user(user, name=user.lower())
        _, ack, _ = world.link(f"<@{user}> {4000 + n}")
        assert "Linked" in ack["text"]
    world.pbx.latency = 2.0
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda u: world.dial("580-867-5309", user=u), users))
    assert [status for status, _, _ in results] == [200] * 50
    assert all("Calling" in ack["text"] for _, ack, _ in results)
    for _, _, response_url in results:
        assert "ringing" in world.final_reply(response_url, timeout=15)
    placed = sorted(c.extension for c in world.pbx.calls)
    assert placed == sorted(str(4000 + n) for n in range(50))


def test_key_never_reaches_a_reply(world: World) -> None:
    world.pbx.fail_next(403, {"error": "Invalid API key", "message": f"key {PBX_KEY} revoked"})
    _, _, response_url = world.dial("580-867-5309")
    final = world.final_reply(response_url)
    assert "misconfigured" in final and PBX_KEY not in final
