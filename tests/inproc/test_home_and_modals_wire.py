"""App Home, dialing from a modal, asking to be linked, and linking by email, over the wire.

One journey per surface; what each answers in every case: tests/inproc/test_home_and_modals.py.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.signing import (
    app_home_opened_event,
    dm_button_payload,
    home_button_payload,
    view_submission_payload,
)
from tests.inproc.harness import World
from tests.waiting import wait_until
from tests.workspace import ADMIN


def interact(world: World, payload: dict[str, Any]) -> tuple[int, dict]:
    """Post a signed interactivity payload; answer (status, JSON ack or {})."""
    status, ack = world.interact(payload)
    return status, {} if "raw" in ack else ack


def open_home(world: World, user: str) -> dict:
    """Send app_home_opened and answer the view the bot published for that user."""
    before = len(world.slack.calls_to("views.publish"))
    assert world.event(app_home_opened_event(user)) == 200
    return latest_home(world, user, after=before)


def latest_home(world: World, user: str, after: int = 0, timeout: float = 5.0) -> dict:
    """The newest Home view published for the user, waiting for one past index `after`."""

    def mine() -> list:
        calls = world.slack.calls_to("views.publish")[after:]
        return [c for c in calls if c.params.get("user_id") == user]

    found = wait_until(mine, timeout=timeout, what=f"a Home published for {user}")
    return found[-1].params["view"]


def home_text(view: dict) -> str:
    """All the text and button values of a view, for assertions."""
    return json.dumps(view)


def submit_number(world: World, text: str, user: str = "UALICE001") -> tuple[int, dict]:
    """Submit the dial modal with `text` in its number field."""
    values = {"number": {"number_input": {"type": "plain_text_input", "value": text}}}
    payload = view_submission_payload(user_id=user, callback_id="dial_modal", values=values)
    return interact(world, payload)


def test_home_shows_calls_and_redial_places_the_call_again_after_checking_it(world: World) -> None:
    _, _, url = world.dial("580-867-5309")
    world.final_reply(url)
    view = open_home(world, "UALICE001")
    text = home_text(view)
    assert view["type"] == "home"
    assert "Your extension is *309*" in text and "open_dial_modal" in text
    assert "+1 580-867-5309" in text and "placed" in text
    assert '"action_id": "redial"' in text and '"value": "+15808675309"' in text
    assert "Admin" not in text

    before = len(world.slack.calls_to("views.publish"))
    status, _ = interact(
        world, home_button_payload(user_id="UBOB00001", action_id="redial", value="+15808675309")
    )
    assert status == 200
    wait_until(lambda: len(world.pbx.calls) == 2, what="the redial to reach the PBX")
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls][1:] == [("310", "15808675309")]
    wait_until(
        lambda: "ringing" in home_text(latest_home(world, "UBOB00001", after=before)),
        what="Home to show the call ringing",
    )
    interact(
        world, home_button_payload(user_id="UBOB00001", action_id="redial", value="+18765551234")
    )
    wait_until(
        lambda: "Jamaica" in home_text(latest_home(world, "UBOB00001")),
        what="Home to show the refusal",
    )
    world.idle()
    assert len(world.pbx.calls) == 2, "no third PBX call"


def test_modal_submission_dials_and_shows_the_outcome_in_the_modal(any_world: World) -> None:
    world = any_world  # over signed HTTP, and over Socket Mode envelopes
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


def test_link_by_email(any_world: World) -> None:
    world = any_world  # over signed HTTP, and over Socket Mode envelopes
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


def submit_link(world: World, extension: str, user_id: str = "UNOLINK01") -> dict:
    """Submit the admin's link modal for user_id with `extension`; answer the JSON ack."""
    values = {"extension": {"extension_input": {"type": "plain_text_input", "value": extension}}}
    payload = view_submission_payload(
        user_id=ADMIN, callback_id="link_user_modal", values=values, private_metadata=user_id
    )
    status, ack = interact(world, payload)
    assert status == 200
    return ack


def test_the_link_modal_refuses_special_numbers_in_plain_text(any_world: World) -> None:
    world = any_world  # over signed HTTP, and over Socket Mode envelopes
    for extension, why in {
        "933": "933 is a special-services number in the United States",
        "988": "988 is a special-services number in the United States",
        "9911": "9911 is 911 behind the outside-line prefix 9",
        "0911": "0911 is 911 behind the outside-line prefix 0",
        "000": "000 is an emergency number in other countries",
        "110": "110 is an emergency number in other countries",
    }.items():
        ack = submit_link(world, extension)
        assert ack["response_action"] == "errors", ack
        error = ack["errors"]["extension"]
        assert error.startswith(why) and "can't be linked" in error
        assert not any(mark in error for mark in "*_`<>~"), error
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]
    ack = submit_link(world, "15")
    assert ack["response_action"] == "update"
    assert "Linked <@UNOLINK01> to extension 15" in json.dumps(ack["view"])


def test_the_link_modal_reads_the_configured_region(world: World) -> None:
    world.restart(DIALER_DEFAULT_REGION="FR")
    ack = submit_link(world, "15")
    assert ack["response_action"] == "errors"
    assert ack["errors"]["extension"].startswith("15 is an emergency number in France")
    world.restart(DIALER_DEFAULT_REGION="AU")
    ack = submit_link(world, "000")
    assert ack["errors"]["extension"].startswith("000 is an emergency number in Australia")
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]
