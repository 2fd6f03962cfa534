"""App Home, the dial modal and link requests in-process, over HTTP and Socket Mode."""

from __future__ import annotations

import json

from tests.fakes.signing import (
    dm_button_payload,
    global_shortcut_payload,
    home_button_payload,
    view_submission_payload,
)
from tests.inproc.harness import World
from tests.workspace import ADMIN


def home_text(view: dict) -> str:
    """All the text and button values of a view, for assertions."""
    return json.dumps(view)


def submit_number(world: World, text: str, user: str = "UALICE001") -> tuple[int, dict]:
    """Submit the dial modal with `text` in its number field."""
    values = {"number": {"number_input": {"type": "plain_text_input", "value": text}}}
    payload = view_submission_payload(user_id=user, callback_id="dial_modal", values=values)
    return world.interact(payload)


def submit_link(world: World, admin: str, extension: str, user: str = "UNOLINK01") -> dict:
    """Submit the link modal for `user` with `extension`; answer the ack."""
    values = {"extension": {"extension_input": {"type": "plain_text_input", "value": extension}}}
    payload = view_submission_payload(
        user_id=admin, callback_id="link_user_modal", values=values, private_metadata=user
    )
    return world.interact(payload)[1]


# --- App Home ------------------------------------------------------------------------------------


def test_home_for_a_linked_user_shows_extension_calls_and_redial(any_world: World) -> None:
    _, _, url = any_world.dial("580-867-5309")
    any_world.final_reply(url)
    view = any_world.open_home("UALICE001")
    text = home_text(view)
    assert view["type"] == "home"
    assert "Your extension is *309*" in text and "open_dial_modal" in text
    assert "+1 580-867-5309" in text and "placed" in text
    assert '"action_id": "redial"' in text and '"value": "+15808675309"' in text
    assert "Admin" not in text


def test_home_for_an_unlinked_user_offers_to_ask_an_admin(world: World) -> None:
    text = home_text(world.open_home("UNOLINK01"))
    assert "don't have a phone extension" in text and "request_link" in text
    assert "open_dial_modal" not in text


def test_home_for_an_admin_shows_links_and_failures(world: World) -> None:
    world.pbx.offline_extensions = {"310"}
    _, _, url = world.dial("580-867-5309", user="UBOB00001")
    world.final_reply(url)
    text = home_text(world.open_home(ADMIN))
    assert "3 people are linked" in text
    assert "<@UBOB00001>" in text and "no phones online" in text
    assert "link_user_open" in text


def test_home_refreshes_after_each_call(world: World) -> None:
    world.open_home("UALICE001")
    before = len(world.homes("UALICE001"))
    _, _, url = world.dial("604-555-0143")
    world.final_reply(url)
    assert "+1 604-555-0143" in home_text(world.latest_home("UALICE001", after=before))


def test_home_is_not_published_for_people_who_never_opened_it(world: World) -> None:
    _, _, url = world.dial("580-867-5309", user="UBOB00001")
    world.final_reply(url)
    world.idle()
    assert world.homes("UBOB00001") == []


def test_redial_from_home_places_the_call_again_after_checking_it(any_world: World) -> None:
    world = any_world
    status, _ = world.interact(
        home_button_payload(user_id="UALICE001", action_id="redial", value="+15808675309")
    )
    assert status == 200
    world.idle()
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]
    assert "ringing" in home_text(world.latest_home("UALICE001"))
    world.interact(
        home_button_payload(user_id="UALICE001", action_id="redial", value="+18765551234")
    )
    world.idle()
    assert "Jamaica" in home_text(world.latest_home("UALICE001"))
    assert len(world.pbx.calls) == 1


# --- the dial modal ------------------------------------------------------------------------------


def test_global_shortcut_and_home_button_open_the_dial_modal(any_world: World) -> None:
    world = any_world
    shortcut = global_shortcut_payload(user_id="UALICE001", callback_id="dial_from_modal")
    status, _ = world.interact(shortcut)
    assert status == 200
    opened = world.slack.wait_for_calls("views.open")[0].params
    assert opened["trigger_id"] == shortcut["trigger_id"]
    assert opened["view"]["callback_id"] == "dial_modal"
    world.interact(home_button_payload(user_id="UALICE001", action_id="open_dial_modal"))
    assert len(world.slack.wait_for_calls("views.open", count=2)) == 2


def test_bad_number_in_the_modal_is_answered_in_its_field(any_world: World) -> None:
    world = any_world
    status, ack = submit_number(world, "call mom")
    assert status == 200 and ack["response_action"] == "errors"
    assert "call mom" in ack["errors"]["number"]
    _, ack = submit_number(world, "+44 20 7946 0958")
    assert "United Kingdom" in ack["errors"]["number"]
    _, ack = submit_number(world, "911")
    assert "emergency" in ack["errors"]["number"]
    _, ack = submit_number(world, "580-867-5309", user="UNOLINK01")
    assert "don't have a phone extension" in ack["errors"]["number"]
    assert "<@" not in ack["errors"]["number"] and "`" not in ack["errors"]["number"]
    _, ack = submit_number(world, "   ")
    assert ack["errors"]["number"] == "Type a number."
    world.idle()
    assert world.pbx.requests == 0


def test_modal_submission_dials_and_shows_the_outcome_in_the_modal(any_world: World) -> None:
    world = any_world
    world.pbx.latency = 0.3
    status, ack = submit_number(world, "580-867-5309")
    assert status == 200 and ack["response_action"] == "update"
    assert "Calling +1 580-867-5309 from extension 309" in json.dumps(ack["view"])
    update = world.slack.wait_for_calls("views.update")[0].params
    assert update["view_id"] == "VMODAL001" and "ringing" in json.dumps(update["view"])
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]


# --- asking to be linked, and the link modal -----------------------------------------------------


def test_unlinked_user_asks_an_admin_and_is_told_when_linked(any_world: World) -> None:
    world = any_world
    _, ack, _ = world.dial("580-867-5309", user="UNOLINK01")
    assert "request_link" in json.dumps(ack.get("blocks"))
    response_url = world.slack.response_url()
    payload = dm_button_payload(
        user_id="UNOLINK01", action_id="request_link", value="request", response_url=response_url
    )
    world.interact(payload)
    assert f"I've asked <@{ADMIN}>" in world.final_reply(response_url)
    dm = world.slack.wait_for_calls("chat.postMessage")[0].params
    assert "<@UNOLINK01> asked to be linked" in dm["text"]
    opened = [c.params for c in world.slack.calls_to("conversations.open")]
    assert opened[0]["users"] == ADMIN
    button = dm["blocks"][0]["accessory"]
    assert button["action_id"] == "link_user_open" and button["value"] == "UNOLINK01"

    admin_click = dm_button_payload(
        user_id=ADMIN,
        action_id="link_user_open",
        value="UNOLINK01",
        response_url=world.slack.response_url(),
    )
    world.interact(admin_click)
    modal = world.slack.wait_for_calls("views.open")[0].params["view"]
    assert modal["callback_id"] == "link_user_modal" and modal["private_metadata"] == "UNOLINK01"

    ack = submit_link(world, ADMIN, "3x")
    assert ack["response_action"] == "errors" and "2 to 8 digits" in ack["errors"]["extension"]
    ack = submit_link(world, ADMIN, "412")
    assert ack["response_action"] == "update"
    assert "Linked <@UNOLINK01> to extension 412" in json.dumps(ack["view"])
    told = world.slack.wait_for_calls("chat.postMessage", count=2)[1].params
    assert "You're now linked to extension 412" in told["text"]
    _, ack, _ = world.link("", user="UNOLINK01")
    assert ack["text"].startswith("Your extension is 412")


def test_asking_twice_is_not_sent_twice(world: World) -> None:
    for expected in ("I've asked", "already"):
        response_url = world.slack.response_url()
        world.interact(
            dm_button_payload(
                user_id="UNOLINK01", action_id="request_link", value="x", response_url=response_url
            )
        )
        assert expected in world.final_reply(response_url)
    world.idle()
    assert len(world.slack.calls_to("chat.postMessage")) == 1


def test_a_linked_user_asking_is_shown_their_extension(world: World) -> None:
    response_url = world.slack.response_url()
    world.interact(
        dm_button_payload(
            user_id="UALICE001", action_id="request_link", value="x", response_url=response_url
        )
    )
    assert "309" in world.final_reply(response_url)
    world.idle()
    assert world.slack.calls_to("chat.postMessage") == []


def test_only_admins_can_submit_the_link_modal(world: World) -> None:
    ack = submit_link(world, "UALICE001", "412")
    assert ack["response_action"] == "errors" and "Only admins" in ack["errors"]["extension"]
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]


def test_the_link_modal_refuses_an_emergency_extension(world: World) -> None:
    ack = submit_link(world, ADMIN, "911")
    assert ack["response_action"] == "errors" and "emergency" in ack["errors"]["extension"]
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]
