"""The message shortcut and the choice buttons in-process, over HTTP and Socket Mode."""

from __future__ import annotations

from tests.fakes.signing import block_actions_payload
from tests.inproc.harness import World


def placed(world: World) -> list[tuple[str, str]]:
    """What the PBX was asked to dial, as (extension, phonenumber) pairs."""
    return [(c.extension, c.phonenumber) for c in world.pbx.calls]


def test_one_number_in_a_message_is_dialed(any_world: World) -> None:
    status, response_url = any_world.shortcut("call me at <tel:+15808675309|+1 580-867-5309>")
    assert status == 200
    assert "Calling +1 580-867-5309 from extension 309" in any_world.final_reply(response_url, 1)
    assert "ringing" in any_world.final_reply(response_url, 2)
    assert placed(any_world) == [("309", "15808675309")]


def test_several_numbers_offer_a_choice_and_the_click_dials_it(any_world: World) -> None:
    world = any_world
    _, response_url = world.shortcut("office 580-867-5309, cell (604) 555-0143")
    offer = world.slack.wait_for_posts(response_url)[0]
    buttons = offer["blocks"][1]["elements"]
    assert [b["action_id"] for b in buttons] == ["dial_choice_0", "dial_choice_1"]
    assert [b["value"] for b in buttons] == ["+15808675309", "+16045550143"]
    assert offer["response_type"] == "ephemeral"
    world.idle()
    assert world.pbx.requests == 0
    status, click_url = world.click(buttons[1]["action_id"], buttons[1]["value"])
    assert status == 200
    assert "ringing" in world.final_reply(click_url, 2)
    assert [p["replace_original"] for p in world.slack.posts_to(click_url)] == [True, True]
    assert placed(world) == [("309", "16045550143")]


def test_choice_click_with_a_plus_one_value_places_one_call(any_world: World) -> None:
    response_url = any_world.slack.response_url()
    payload = block_actions_payload(
        user_id="UCAROL001",
        action_id="dial_choice_0",
        value="+15808675309",
        response_url=response_url,
    )
    status, ack = any_world.interact(payload)
    assert status == 200 and ack == {}, "a click is acked empty; the answers follow"
    assert "Calling +1 580-867-5309 from extension 311" in any_world.final_reply(response_url)
    assert "ringing" in any_world.final_reply(response_url, count=2)
    any_world.idle()
    assert placed(any_world) == [("311", "15808675309")]


def test_no_number_in_a_message_says_so(world: World) -> None:
    _, response_url = world.shortcut("lunch at noon?")
    assert "couldn't find a phone number" in world.final_reply(response_url)
    world.idle()
    assert world.pbx.requests == 0
    assert world.rows("SELECT outcome, surface FROM calls") == [("refused_no_number", "shortcut")]


def test_a_forged_button_value_is_checked_again(world: World) -> None:
    _, click_url = world.click("dial_choice_0", "+18765551234")
    assert "Jamaica" in world.final_reply(click_url)
    world.idle()
    assert world.pbx.requests == 0


def test_an_unlinked_user_clicking_a_choice_is_told_to_ask_an_admin(world: World) -> None:
    _, click_url = world.click("dial_choice_0", "+15808675309", user="UNOLINK01")
    assert "don't have a phone extension linked" in world.final_reply(click_url)
    world.idle()
    assert world.pbx.requests == 0
