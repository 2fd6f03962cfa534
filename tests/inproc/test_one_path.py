"""What the one dialing path fixed: refusals logged in E.164, honest holds after a failure
that may ring, and a message shortcut that offers only what can be dialed."""

from __future__ import annotations

from tests.inproc.harness import World


def audit(world: World, sql: str) -> list[tuple]:
    return world.rows(sql)


def test_a_refused_number_is_in_the_audit_log_in_e164(any_world: World) -> None:
    world = any_world  # over signed HTTP, and over Socket Mode envelopes
    _, ack, _ = world.dial("1-900-976-1234")
    assert "premium-rate" in ack["text"]
    assert audit(
        world, "SELECT destination, typed, outcome FROM calls WHERE user_id='UALICE001'"
    ) == [("+19009761234", "1-900-976-1234", "refused_premium_rate")]
    world.idle()
    assert world.pbx.calls == []


def test_a_dial_repeated_right_after_a_500_says_the_last_attempt_may_still_ring(
    any_world: World,
) -> None:
    world = any_world  # over signed HTTP, and over Socket Mode envelopes
    world.pbx.fail_next(500, {"status": "500", "error": "internal"})
    _, _, response_url = world.dial("580-867-5309")
    failed = world.final_reply(response_url)
    assert "may not have gone through" in failed and "10 seconds" in failed
    _, again, _ = world.dial("580-867-5309")
    assert "failed, but it may still ring" in again["text"]
    assert "Already calling" not in again["text"] and "should be ringing" not in again["text"]
    world.idle()
    assert world.pbx.requests == 1


def test_a_message_with_fifteen_numbers_offers_only_the_dialable_ones(any_world: World) -> None:
    world = any_world  # over signed HTTP, and over Socket Mode envelopes
    refused = [
        "+1 876 555 1234",  # Jamaica
        "+44 20 7946 0958",  # United Kingdom
        "1-900-976-1234",  # premium rate
        "+1 809 555 0100",  # Dominican Republic
        "+33 1 42 68 53 00",  # France
        "+61 2 9374 4000",  # Australia
        "+49 30 901820",  # Germany
    ]
    dialable = [
        "580-867-5309",
        "604-555-0143",
        "212-555-0199",
        "415-555-0132",
        "617-555-0111",
        "1-800-555-0199",
        "312-555-0178",
        "206-555-0145",
    ]
    # The refused ones come first, as the old shortcut offered the first 10 whatever they were.
    text = "Numbers: " + "; ".join(refused + dialable)
    _, response_url = world.shortcut(text)
    offer = world.slack.wait_for_posts(response_url)[0]
    buttons = offer["blocks"][1]["elements"]
    assert [b["value"] for b in buttons] == [
        "+15808675309",
        "+16045550143",
        "+12125550199",
        "+14155550132",
        "+16175550111",
        "+18005550199",
        "+13125550178",
        "+12065550145",
    ]
    assert "7 other numbers aren't shown" in offer["text"]
    assert "premium-rate" in offer["text"]
    world.idle()
    assert world.pbx.calls == []
    _, click_url = world.click(buttons[-1]["action_id"], buttons[-1]["value"])
    assert "ringing" in world.final_reply(click_url, 2)
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "12065550145")]


def test_a_command_whose_text_says_payload_is_read_as_a_command(any_world: World) -> None:
    world = any_world  # over signed HTTP, and over Socket Mode envelopes
    # Bolt reads any form body containing "payload" as an interaction; ours is refused plainly.
    status, ack, _ = world.dial("payload")
    assert status == 200
    assert "couldn't read “payload” as a phone number" in ack["text"]
    world.idle()
    assert world.pbx.requests == 0
