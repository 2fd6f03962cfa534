"""The message shortcut and the choice buttons, end to end."""

from __future__ import annotations

import sqlite3
import time

from tests.e2e.conftest import World


def test_one_number_in_a_message_is_dialed(world: World) -> None:
    status, response_url = world.shortcut("call me at <tel:+15808675309|+1 580-867-5309>")
    assert status == 200
    assert "Calling +1 580-867-5309 from extension 309" in world.final_reply(response_url, 1)
    assert "ringing" in world.final_reply(response_url, 2)
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]


def test_several_numbers_offer_a_choice_and_the_click_dials_it(world: World) -> None:
    _, response_url = world.shortcut("office 580-867-5309, cell (604) 555-0143")
    offer = world.slack.wait_for_posts(response_url)[0]
    buttons = offer["blocks"][1]["elements"]
    assert [b["value"] for b in buttons] == ["+15808675309", "+16045550143"]
    assert offer["response_type"] == "ephemeral"
    assert world.pbx.calls == []
    status, click_url = world.click(buttons[1]["action_id"], buttons[1]["value"])
    assert status == 200
    assert "ringing" in world.final_reply(click_url, 2)
    assert world.slack.posts_to(click_url)[1]["replace_original"] is True
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "16045550143")]


def test_no_number_in_a_message_says_so(world: World) -> None:
    _, response_url = world.shortcut("lunch at noon?")
    assert "couldn't find a phone number" in world.final_reply(response_url)
    assert world.pbx.calls == []
    conn = sqlite3.connect(world.db_path)
    outcome = conn.execute("SELECT outcome, surface FROM calls ORDER BY id DESC").fetchone()
    conn.close()
    assert outcome == ("refused_no_number", "shortcut")


def test_a_forged_button_value_is_checked_again(world: World) -> None:
    _, click_url = world.click("dial_choice_0", "+18765551234")
    assert "Jamaica" in world.final_reply(click_url)
    time.sleep(0.2)
    assert world.pbx.calls == []
