"""The call receipt in-process: it appears on every surface; a tap records, redraws, and is safe.

Each surface's final reply for a placed call carries Connected / Didn't ring / No answer, the
buttons' value being the call's audit row id. A tap by the caller records the answer on that row
and redraws the receipt where it was tapped; a tap for someone else's call, a call not placed or
a forged value records nothing and says so; a replayed tap records once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.signing import (
    block_actions_payload,
    home_button_payload,
    view_submission_payload,
)
from tests.fakes.slack import dm_channel
from tests.inproc.harness import World
from tests.inproc.step_driver import StepDriver
from tests.waiting import wait_until

NUMBER = "580-867-5309"
ANSWERS = ("receipt_connected", "receipt_didnt_ring", "receipt_no_answer")


# --- helpers ---------------------------------------------------------------------------------


def buttons(blocks: list[dict[str, Any]] | None) -> dict[str, list[dict[str, Any]]]:
    """Every button in the blocks, by action_id (a list: Home may show several calls)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for block in blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            found.setdefault(element["action_id"], []).append(element)
    return found


def assert_receipt(blocks: list[dict[str, Any]] | None, call_id: int) -> None:
    """The blocks are a receipt for `call_id`: the three answers, each carrying its row id."""
    found = buttons(blocks)
    for action_id in ANSWERS:
        assert [b["value"] for b in found.get(action_id, [])] == [str(call_id)], found


def placed_ids(world: World, user: str = "UALICE001") -> list[int]:
    """The audit row ids of the user's placed calls, oldest first."""
    rows = world.rows("SELECT id FROM calls WHERE user_id = ? AND outcome = 'placed'", user)
    return [row_id for (row_id,) in rows]


def answer_of(world: World, call_id: int) -> tuple[str | None, float | None]:
    """The answer on a call's row, and when it was given."""
    return world.rows("SELECT answer, answered_at FROM calls WHERE id = ?", call_id)[0]


def tap(world: World, action_id: str, call_id: int | str, user: str = "UALICE001") -> str:
    """Tap a receipt button in a message; answer the tap's own response_url."""
    url = world.slack.response_url()
    payload = block_actions_payload(
        user_id=user, action_id=action_id, value=str(call_id), response_url=url
    )
    status, ack = world.interact(payload)
    assert status == 200 and ack == {}
    return url


def dial_receipt(world: World, user: str = "UALICE001", number: str = NUMBER) -> dict[str, Any]:
    """`/dial` a number and answer the final reply (the receipt)."""
    _, _, url = world.dial(number, user=user)
    return world.slack.wait_for_posts(url)[0]


# --- the receipt on each of the six surfaces ---------------------------------------------------


def test_dial_final_reply_is_a_receipt(any_world: World) -> None:
    post = dial_receipt(any_world)
    (call_id,) = placed_ids(any_world)
    assert "Your phones on extension 309 are ringing" in post["text"]
    assert_receipt(post["blocks"], call_id)
    text = json.dumps(post["blocks"])
    assert "+1 580-867-5309" in text and "from extension 309" in text and "<!date^" in text
    assert answer_of(any_world, call_id) == (None, None)


def test_message_shortcut_final_reply_is_a_receipt(any_world: World) -> None:
    _, url = any_world.shortcut("call me at 580-867-5309")
    final = any_world.slack.wait_for_posts(url, count=2)[1]
    assert "ringing" in final["text"]
    assert_receipt(final["blocks"], placed_ids(any_world)[0])


def test_choice_button_final_reply_is_a_receipt(any_world: World) -> None:
    _, url = any_world.click("dial_choice_1", "+16045550143")
    final = any_world.slack.wait_for_posts(url, count=2)[1]
    assert "ringing" in final["text"] and final["replace_original"] is True
    assert_receipt(final["blocks"], placed_ids(any_world)[0])


def test_modal_outcome_is_a_receipt_and_a_tap_updates_the_modal(any_world: World) -> None:
    world = any_world
    values = {"number": {"number_input": {"type": "plain_text_input", "value": NUMBER}}}
    world.interact(
        view_submission_payload(user_id="UALICE001", callback_id="dial_modal", values=values)
    )
    update = world.slack.wait_for_calls("views.update")[0].params
    (call_id,) = placed_ids(world)
    assert update["view_id"] == "VMODAL001" and "ringing" in json.dumps(update["view"])
    assert_receipt(update["view"]["blocks"], call_id)
    # The tap comes from the modal (a view container, no response_url): the modal is redrawn.
    payload = home_button_payload(
        user_id="UALICE001", action_id="receipt_no_answer", value=str(call_id)
    )
    payload["view"] = {"id": "VMODAL001", "type": "modal", "callback_id": "dial_result"}
    world.interact(payload)
    redrawn = world.slack.wait_for_calls("views.update", count=2)[1].params
    assert redrawn["view_id"] == "VMODAL001"
    assert "no one picked up" in json.dumps(redrawn["view"])
    assert answer_of(world, call_id)[0] == "no_answer"


def test_home_redial_shows_the_receipt_on_home_and_a_tap_there_records(any_world: World) -> None:
    world = any_world
    world.open_home("UALICE001")
    world.interact(
        home_button_payload(user_id="UALICE001", action_id="redial", value="+15808675309")
    )
    world.idle()
    (call_id,) = placed_ids(world)
    home = world.latest_home("UALICE001")
    assert "ringing" in json.dumps(home)
    assert_receipt(home["blocks"], call_id)
    before = len(world.homes("UALICE001"))
    world.interact(
        home_button_payload(user_id="UALICE001", action_id="receipt_connected", value=str(call_id))
    )
    home = world.latest_home("UALICE001", after=before)
    assert "you said: _connected_" in json.dumps(home)
    assert buttons(home["blocks"]).get("receipt_connected") is None
    assert answer_of(world, call_id)[0] == "connected"


@pytest.fixture
def step(any_world: World) -> StepDriver:
    """Runs of the workflow step in each mode."""
    any_world.slack.reset()
    return StepDriver(any_world)


def test_workflow_step_dm_is_a_receipt_and_a_tap_in_it_records(step: StepDriver) -> None:
    world = step.world
    step.run(NUMBER)
    dm = step.wait_dm("UALICE001")
    (call_id,) = placed_ids(world)
    assert "ringing" in dm.params["text"]
    assert_receipt(dm.params["blocks"], call_id)
    # The DM is an ordinary message: its taps come with a response_url, redrawn in place.
    url = world.slack.response_url()
    payload = block_actions_payload(
        user_id="UALICE001", action_id="receipt_connected", value=str(call_id), response_url=url
    )
    payload["container"] = {"type": "message", "channel_id": dm_channel("UALICE001")}
    world.interact(payload)
    redrawn = world.slack.wait_for_posts(url)[0]
    assert redrawn["replace_original"] is True and "connected" in redrawn["text"]
    assert answer_of(world, call_id)[0] == "connected"


# --- taps --------------------------------------------------------------------------------------


def test_connected_records_updates_in_place_and_shows_on_home(any_world: World) -> None:
    world = any_world
    dial_receipt(world)
    (call_id,) = placed_ids(world)
    url = tap(world, "receipt_connected", call_id)
    update = world.slack.wait_for_posts(url)[0]
    assert update["replace_original"] is True and update["response_type"] == "ephemeral"
    assert "Noted: you were connected" in update["text"]
    found = buttons(update["blocks"])
    assert found["receipt_connected"][0]["style"] == "primary"  # the way to change it
    assert "style" not in found["receipt_didnt_ring"][0]
    assert "+1 580-867-5309" in json.dumps(update["blocks"])
    answer, answered_at = answer_of(world, call_id)
    assert answer == "connected" and answered_at is not None
    home = json.dumps(world.open_home("UALICE001"))
    assert "you said: _connected_" in home and "receipt_connected" not in home


def test_a_changed_answer_updates_the_row(any_world: World) -> None:
    world = any_world
    dial_receipt(world)
    (call_id,) = placed_ids(world)
    world.slack.wait_for_posts(tap(world, "receipt_connected", call_id))
    url = tap(world, "receipt_didnt_ring", call_id)
    update = world.slack.wait_for_posts(url)[0]
    assert "didn't ring" in update["text"] and "signed in" in update["text"]
    assert [b["value"] for b in buttons(update["blocks"])["receipt_tell_admin"]] == [str(call_id)]
    assert answer_of(world, call_id)[0] == "didnt_ring"


def test_a_tap_for_someone_elses_call_records_nothing(any_world: World) -> None:
    world = any_world
    dial_receipt(world)
    (call_id,) = placed_ids(world)
    url = tap(world, "receipt_didnt_ring", call_id, user="UBOB00001")
    said = world.slack.wait_for_posts(url)[0]
    assert "someone else's call" in said["text"] and "didn't note anything" in said["text"]
    assert said["replace_original"] is False and said["response_type"] == "ephemeral"
    world.idle()
    assert answer_of(world, call_id) == (None, None)
    assert len(world.slack.posts_to(url)) == 1


def test_a_tap_for_a_refused_call_or_a_forged_value_records_nothing(any_world: World) -> None:
    world = any_world
    _, ack, _ = world.dial("+1 876 555 1234")  # refused: Jamaica is not allowed
    assert "Jamaica" in ack["text"]
    [(refused_id,)] = world.rows("SELECT id FROM calls WHERE outcome LIKE 'refused%'")
    said = world.slack.wait_for_posts(tap(world, "receipt_connected", refused_id))[0]
    assert "never placed" in said["text"] and said["replace_original"] is False
    for forged in ("abc", "0", "99999", "1; DROP TABLE calls"):
        said = world.slack.wait_for_posts(tap(world, "receipt_connected", forged))[0]
        assert "couldn't find that call" in said["text"], forged
    world.idle()
    assert world.rows("SELECT count(*) FROM calls WHERE answer IS NOT NULL") == [(0,)]


def test_the_same_tap_replayed_records_once(any_world: World) -> None:
    world = any_world
    dial_receipt(world)
    (call_id,) = placed_ids(world)
    url = world.slack.response_url()
    payload = block_actions_payload(
        user_id="UALICE001", action_id="receipt_connected", value=str(call_id), response_url=url
    )
    world.interact(payload)
    world.slack.wait_for_posts(url)
    first = answer_of(world, call_id)
    world.advance(5)
    world.interact(payload)  # the same request again: the replay guard drops it
    world.wait_logged("ignored a repeat of a button click")
    world.idle()
    assert len(world.slack.posts_to(url)) == 1
    # Tapped again for real (a new request), the same answer is still one record.
    world.slack.wait_for_posts(tap(world, "receipt_connected", call_id))
    world.idle()
    assert answer_of(world, call_id) == first
    assert world.log.count(f"caller answer call={call_id} ") == 1


def test_a_tap_on_an_ephemeral_receipt_refreshes_an_open_home(world: World) -> None:
    dial_receipt(world)
    (call_id,) = placed_ids(world)
    home = json.dumps(world.open_home("UALICE001"))
    assert '"action_id": "receipt_connected"' in home
    before = len(world.homes("UALICE001"))
    tap(world, "receipt_no_answer", call_id)
    wait_until(
        lambda: "you said: _no answer_" in json.dumps(world.homes("UALICE001")[before:]),
        what="Home showing the answer",
    )
