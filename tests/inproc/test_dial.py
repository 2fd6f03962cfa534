"""/dial in-process: what the user reads and what the PBX is asked, for each input and failure."""

from __future__ import annotations

import pytest

from tests.botproc import free_port
from tests.fakes.signing import slash_command_body
from tests.inproc.conftest import MakeWorld
from tests.inproc.harness import World
from tests.workspace import PBX_KEY

HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def placed(world: World) -> list[tuple[str, str]]:
    """What the PBX was asked to dial, as (extension, phonenumber) pairs."""
    return [(c.extension, c.phonenumber) for c in world.pbx.calls]


def test_dial_places_exactly_one_call_and_answers_ephemerally(any_world: World) -> None:
    status, ack, response_url = any_world.dial("580-867-5309")
    assert status == 200
    assert ack["response_type"] == "ephemeral"
    assert ack["text"].endswith("Calling +1 580-867-5309 from extension 309…")
    final = any_world.final_reply(response_url)
    assert "ringing" in final and "+1 580-867-5309" in final
    assert any_world.slack.posts_to(response_url)[0]["response_type"] == "ephemeral"
    any_world.idle()
    assert placed(any_world) == [("309", "15808675309")]
    assert len(any_world.slack.posts_to(response_url)) == 1


def test_plus_sign_arrives_percent_encoded_and_is_read(world: World) -> None:
    status, ack, _ = world.dial("+1 (580) 867.5309", user="UBOB00001")
    assert status == 200 and "from extension 310" in ack["text"]
    world.idle()
    assert placed(world) == [("310", "15808675309")]


@pytest.mark.parametrize("text", ["", "help", "?"])
def test_dial_without_text_shows_usage(world: World, text: str) -> None:
    _, ack, _ = world.dial(text)
    assert "/dial 580-867-5309" in ack["text"]
    world.idle()
    assert world.pbx.requests == 0


def test_unreadable_number_is_quoted_back(any_world: World) -> None:
    _, ack, response_url = any_world.dial("call mom please")
    assert "call mom please" in ack["text"]
    any_world.idle()
    assert any_world.pbx.requests == 0
    assert any_world.slack.posts_to(response_url) == [], "a refusal is the ack, nothing follows"


def test_unlinked_user_is_told_to_ask_an_admin(world: World) -> None:
    _, ack, _ = world.dial("580-867-5309", user="UNOLINK01")
    assert "don't have a phone extension linked" in ack["text"]
    assert "UADMIN001" in ack["text"]
    world.idle()
    assert world.pbx.requests == 0


def test_dial_a_colleague_by_mention_calls_their_extension(world: World) -> None:
    _, ack, response_url = world.dial("<@UBOB00001|bob>")
    assert "Calling extension 310 from extension 309" in ack["text"]
    world.final_reply(response_url)
    assert placed(world) == [("309", "310")]


def test_dial_a_linked_extension_by_digits(world: World) -> None:
    _, ack, response_url = world.dial("311")
    assert "extension 311" in ack["text"]
    world.final_reply(response_url)
    assert placed(world) == [("309", "311")]


def test_short_digits_that_are_no_linked_extension_are_explained(world: World) -> None:
    _, ack, _ = world.dial("4321")
    assert "No one here is linked to extension 4321" in ack["text"]
    world.idle()
    assert world.pbx.requests == 0


def test_unlinked_colleague_is_explained(world: World) -> None:
    _, ack, _ = world.dial("<@UNOLINK01>")
    assert "<@UNOLINK01> has no extension linked" in ack["text"]
    world.idle()
    assert world.pbx.requests == 0


def test_own_extension_is_not_dialed(world: World) -> None:
    _, ack, _ = world.dial("309")
    assert "309" in ack["text"] and "Calling" not in ack["text"]
    world.idle()
    assert world.pbx.requests == 0
    assert world.outcomes("UALICE001") == ["refused_own_extension"]


def test_forged_or_stale_signatures_are_refused_and_dial_nothing(world: World) -> None:
    body = slash_command_body(
        "/dial", "580-867-5309", user_id="UALICE001", response_url=world.slack.response_url()
    )
    assert world.post(body, signature="v0=" + "0" * 64)[0] == 401
    assert world.post(body, secret="not-the-secret")[0] == 401
    assert world.post(body, timestamp=1)[0] == 401
    world.idle()
    assert world.pbx.requests == 0 and world.audit_rows() == []


def test_key_never_reaches_a_reply(world: World) -> None:
    world.pbx.fail_next(403, {"error": "Invalid API key", "message": f"key {PBX_KEY} revoked"})
    _, _, response_url = world.dial("580-867-5309")
    final = world.final_reply(response_url)
    assert "isn't set up right" in final and PBX_KEY not in final


# --- every way the PBX can fail reaches the user as its own readable sentence -------------------

FAILURES = {
    "invalid extension": (400, {"message": "invalid extension"}, "doesn't recognize extension 309"),
    "no devices": (
        400,
        {"message": "no devices", "details": "No devices available"},
        "None of the phones on extension 309 is online",
    ),
    "no devices at 500": (500, {"error": "No devices found"}, "None of the phones"),
    "key missing": (401, {"error": "API key is required"}, "isn't set up right"),
    "key refused": (403, {"error": "Invalid API key"}, "isn't set up right"),
    "wrong base url": (404, {"error": "Not found"}, "isn't set up right"),
    "rate limited": (429, {"error": "Too many requests"}, "too many calls"),
    "server error": (500, {"error": "Internal server error"}, "had a problem"),
    "html error page": (502, HTML_PAGE, "had a problem"),
    "not json": (200, "OK!", "had a problem"),
    "200 but not success": (200, {"status": "500", "message": "Failed"}, "had a problem"),
}


@pytest.mark.parametrize("case", FAILURES)
def test_failure_has_its_own_sentence(world: World, case: str) -> None:
    status, body, expected = FAILURES[case]
    world.pbx.fail_next(status, body)
    _, ack, response_url = world.dial("580-867-5309")
    assert "Calling" in ack["text"]
    final = world.final_reply(response_url)
    assert expected in final
    assert "<html" not in final and "Traceback" not in final and PBX_KEY not in final
    world.idle()
    assert world.pbx.requests == 1, "a failure is never retried"
    assert len(world.slack.posts_to(response_url)) == 1


def test_rate_limit_with_retry_after_names_the_wait_and_pauses_dialing(world: World) -> None:
    world.pbx.fail_next(429, {"error": "Too many requests"}, headers={"Retry-After": "120"})
    _, _, response_url = world.dial("580-867-5309")
    assert "2 minutes" in world.final_reply(response_url)
    world.idle()
    requests_before = world.pbx.requests
    _, ack, _ = world.dial("604-555-0143", user="UBOB00001")
    assert "asked me to slow down" in ack["text"]
    world.idle()
    assert world.pbx.requests == requests_before


def test_timeout_says_the_phone_may_still_ring_and_does_not_retry(make_world: MakeWorld) -> None:
    world = make_world(WEBFONES_TIMEOUT="1")
    world.pbx.hang_next(3.0)
    _, _, response_url = world.dial("580-867-5309")
    final = world.final_reply(response_url, timeout=10)
    assert "may still ring" in final
    assert len(world.pbx.calls) <= 1 and world.pbx.requests == 1
    assert world.outcomes("UALICE001") == ["timeout"]


def test_unreachable_pbx_says_nothing_was_dialed(make_world: MakeWorld) -> None:
    world = make_world(WEBFONES_BASE_URL=f"http://127.0.0.1:{free_port()}")
    _, _, response_url = world.dial("580-867-5309")
    final = world.final_reply(response_url, timeout=15)
    assert "couldn't reach the phone system" in final
    assert world.rows("SELECT outcome, sent FROM calls") == [("unreachable", 0)]
