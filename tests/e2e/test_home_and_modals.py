"""App Home, dialing from a modal, asking to be linked, and linking by email, end to end."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.e2e.conftest import ADMIN, SIGNING_SECRET, World
from tests.fakes.signing import (
    app_home_opened_event,
    dm_button_payload,
    event_callback_body,
    global_shortcut_payload,
    home_button_payload,
    interactive_body,
    post_signed,
    view_submission_payload,
)


def interact(world: World, payload: dict[str, Any]) -> tuple[int, dict]:
    """Post a signed interactivity payload; answer (status, JSON ack or {})."""
    status, text, _ = post_signed(world.url, interactive_body(payload), SIGNING_SECRET)
    return status, json.loads(text) if text.strip().startswith("{") else {}


def open_home(world: World, user: str) -> dict:
    """Send app_home_opened and answer the view the bot published for that user."""
    before = len(world.slack.calls_to("views.publish"))
    status, _, _ = post_signed(
        world.url,
        event_callback_body(app_home_opened_event(user)),
        SIGNING_SECRET,
        content_type="application/json",
    )
    assert status == 200
    return latest_home(world, user, after=before)


def latest_home(world: World, user: str, after: int = 0, timeout: float = 5.0) -> dict:
    """The newest Home view published for the user, waiting for one past index `after`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = world.slack.calls_to("views.publish")[after:]
        mine = [c for c in calls if c.params.get("user_id") == user]
        if mine:
            return mine[-1].params["view"]
        time.sleep(0.05)
    raise AssertionError(f"no Home published for {user}")


def home_text(view: dict) -> str:
    """All the text and button values of a view, for assertions."""
    return json.dumps(view)


def submit_number(world: World, text: str, user: str = "UALICE001") -> tuple[int, dict]:
    """Submit the dial modal with `text` in its number field."""
    values = {"number": {"number_input": {"type": "plain_text_input", "value": text}}}
    payload = view_submission_payload(user_id=user, callback_id="dial_modal", values=values)
    return interact(world, payload)


def test_home_for_a_linked_user_shows_extension_calls_and_redial(world: World) -> None:
    _, _, url = world.dial("580-867-5309")
    world.final_reply(url)
    view = open_home(world, "UALICE001")
    text = home_text(view)
    assert view["type"] == "home"
    assert "Your extension is *309*" in text and "open_dial_modal" in text
    assert "+1 580-867-5309" in text and "placed" in text
    assert '"action_id": "redial"' in text and '"value": "+15808675309"' in text
    assert "Admin" not in text


def test_home_for_an_unlinked_user_offers_to_ask_an_admin(world: World) -> None:
    text = home_text(open_home(world, "UNOLINK01"))
    assert "don't have a phone extension" in text and "request_link" in text
    assert "open_dial_modal" not in text


def test_home_for_an_admin_shows_links_and_failures(world: World) -> None:
    world.pbx.offline_extensions = {"310"}
    _, _, url = world.dial("580-867-5309", user="UBOB00001")
    world.final_reply(url)
    text = home_text(open_home(world, ADMIN))
    assert "3 people are linked" in text
    assert "<@UBOB00001>" in text and "no phones online" in text
    assert "link_user_open" in text


def test_home_refreshes_after_each_call(world: World) -> None:
    open_home(world, "UALICE001")
    before = len(world.slack.calls_to("views.publish"))
    _, _, url = world.dial("604-555-0143")
    world.final_reply(url)
    assert "+1 604-555-0143" in home_text(latest_home(world, "UALICE001", after=before))


def test_home_is_not_published_for_people_who_never_opened_it(world: World) -> None:
    _, _, url = world.dial("580-867-5309", user="UBOB00001")
    world.final_reply(url)
    time.sleep(0.3)
    assert [
        c for c in world.slack.calls_to("views.publish") if c.params["user_id"] == "UBOB00001"
    ] == []


def test_redial_from_home_places_the_call_again_after_checking_it(world: World) -> None:
    before = len(world.slack.calls_to("views.publish"))
    status, _ = interact(
        world, home_button_payload(user_id="UALICE001", action_id="redial", value="+15808675309")
    )
    assert status == 200
    deadline = time.monotonic() + 5
    while not world.pbx.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]
    time.sleep(0.3)
    assert "ringing" in home_text(latest_home(world, "UALICE001", after=before))
    interact(
        world, home_button_payload(user_id="UALICE001", action_id="redial", value="+18765551234")
    )
    time.sleep(0.3)
    assert "Jamaica" in home_text(latest_home(world, "UALICE001"))
    assert len(world.pbx.calls) == 1


def test_global_shortcut_and_home_button_open_the_dial_modal(world: World) -> None:
    shortcut = global_shortcut_payload(user_id="UALICE001", callback_id="dial_from_modal")
    status, _ = interact(world, shortcut)
    assert status == 200
    opened = world.slack.wait_for_calls("views.open")[0].params
    assert opened["trigger_id"] == shortcut["trigger_id"]
    assert opened["view"]["callback_id"] == "dial_modal"
    interact(world, home_button_payload(user_id="UALICE001", action_id="open_dial_modal"))
    assert len(world.slack.wait_for_calls("views.open", count=2)) == 2


def test_bad_number_in_the_modal_is_answered_in_its_field(world: World) -> None:
    status, ack = submit_number(world, "call mom")
    assert status == 200 and ack["response_action"] == "errors"
    assert "call mom" in ack["errors"]["number"]
    _, ack = submit_number(world, "+44 20 7946 0958")
    assert "United Kingdom" in ack["errors"]["number"]
    _, ack = submit_number(world, "580-867-5309", user="UNOLINK01")
    assert "don't have a phone extension" in ack["errors"]["number"]
    assert "<@" not in ack["errors"]["number"] and "`" not in ack["errors"]["number"]
    time.sleep(0.2)
    assert world.pbx.requests == 0


def test_modal_submission_dials_and_shows_the_outcome_in_the_modal(world: World) -> None:
    world.pbx.latency = 0.3
    status, ack = submit_number(world, "580-867-5309")
    assert status == 200 and ack["response_action"] == "update"
    assert "Calling +1 580-867-5309 from extension 309" in json.dumps(ack["view"])
    update = world.slack.wait_for_calls("views.update")[0].params
    assert update["view_id"] == "VMODAL001" and "ringing" in json.dumps(update["view"])
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]


def test_unlinked_user_asks_an_admin_and_is_told_when_linked(world: World) -> None:
    _, ack, _ = world.dial("580-867-5309", user="UNOLINK01")
    assert "request_link" in json.dumps(ack.get("blocks"))
    response_url = world.slack.response_url()
    payload = dm_button_payload(
        user_id="UNOLINK01", action_id="request_link", value="", response_url=response_url
    )
    payload["actions"][0]["value"] = "request"
    interact(world, payload)
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
    interact(world, admin_click)
    modal = world.slack.wait_for_calls("views.open")[0].params["view"]
    assert modal["callback_id"] == "link_user_modal" and modal["private_metadata"] == "UNOLINK01"

    bad = {"extension": {"extension_input": {"type": "plain_text_input", "value": "3x"}}}
    _, ack = interact(
        world,
        view_submission_payload(
            user_id=ADMIN, callback_id="link_user_modal", values=bad, private_metadata="UNOLINK01"
        ),
    )
    assert ack["response_action"] == "errors" and "2 to 8 digits" in ack["errors"]["extension"]
    good = {"extension": {"extension_input": {"type": "plain_text_input", "value": "412"}}}
    _, ack = interact(
        world,
        view_submission_payload(
            user_id=ADMIN, callback_id="link_user_modal", values=good, private_metadata="UNOLINK01"
        ),
    )
    assert ack["response_action"] == "update"
    assert "Linked <@UNOLINK01> to extension 412" in json.dumps(ack["view"])
    told = world.slack.wait_for_calls("chat.postMessage", count=2)[1].params
    assert "You're now linked to extension 412" in told["text"]
    _, ack, _ = world.link("", user="UNOLINK01")
    assert ack["text"].startswith("Your extension is 412")


def test_only_admins_can_submit_the_link_modal(world: World) -> None:
    values = {"extension": {"extension_input": {"type": "plain_text_input", "value": "412"}}}
    _, ack = interact(
        world,
        view_submission_payload(
            user_id="UALICE001",
            callback_id="link_user_modal",
            values=values,
            private_metadata="UNOLINK01",
        ),
    )
    assert ack["response_action"] == "errors" and "Only admins" in ack["errors"]["extension"]
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]


def test_link_by_email(world: World) -> None:
    world.slack.add_user("UDAVE0001", name="dave", email="dave@example.com")
    _, ack, _ = world.link("<mailto:dave@example.com|dave@example.com> 420")
    assert ack["text"] == "Linked <@UDAVE0001> to extension 420."
    _, ack, _ = world.link("nobody@example.com 421")
    assert ack["text"] == "No one in this workspace has the email address nobody@example.com."
    world.slack.add_user("UGONE0001", name="gone", email="gone@example.com", deleted=True)
    _, ack, _ = world.link("gone@example.com 422")
    assert "deactivated account or a bot" in ack["text"]
    _, ack, _ = world.link("dave@example.com remove")
    assert "Removed <@UDAVE0001>'s link to extension 420" in ack["text"]
