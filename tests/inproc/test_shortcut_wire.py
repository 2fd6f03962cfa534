"""The message shortcut and the choice buttons over signed HTTP (the rest: test_shortcut.py)."""

from __future__ import annotations

from tests.inproc.harness import World


def test_shortcut_dials_one_number_and_offers_a_choice_of_several(world: World) -> None:
    status, response_url = world.shortcut("call me at <tel:+15808675309|+1 580-867-5309>")
    assert status == 200
    assert "Calling +1 580-867-5309 from extension 309" in world.final_reply(response_url, 1)
    assert "ringing" in world.final_reply(response_url, 2)
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]

    _, response_url = world.shortcut("office 580-867-5309, cell (604) 555-0143", user="UBOB00001")
    offer = world.slack.wait_for_posts(response_url)[0]
    buttons = offer["blocks"][1]["elements"]
    assert [b["value"] for b in buttons] == ["+15808675309", "+16045550143"]
    assert offer["response_type"] == "ephemeral"
    world.idle()
    assert world.pbx.requests == 1, "an offer dials nothing"
    status, click_url = world.click(buttons[1]["action_id"], buttons[1]["value"], user="UBOB00001")
    assert status == 200
    assert "ringing" in world.final_reply(click_url, 2)
    assert world.slack.posts_to(click_url)[1]["replace_original"] is True
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls][1:] == [("310", "16045550143")]
