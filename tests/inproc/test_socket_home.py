"""Home, the dial modal, link requests and email linking, over Socket Mode envelopes."""

from __future__ import annotations

import json

from tests.fakes.signing import (
    app_home_opened_event,
    dm_button_payload,
    event_callback_body,
    global_shortcut_payload,
    view_submission_payload,
)
from tests.inproc.harness import World
from tests.waiting import wait_until
from tests.workspace import ADMIN


def published_home(world: World, user: str, after: int) -> dict:
    """The newest Home view published for `user` past index `after`."""

    def mine() -> list:
        calls = world.slack.calls_to("views.publish")[after:]
        return [c for c in calls if c.params["user_id"] == user]

    return wait_until(mine, what=f"a Home published for {user}")[-1].params["view"]


def submit(world: World, user: str, callback_id: str, values: dict, meta: str = "") -> dict:
    """Send a view_submission envelope; answer the ack's response payload."""
    payload = view_submission_payload(
        user_id=user, callback_id=callback_id, values=values, private_metadata=meta
    )
    _, ack = world.send("interactive", payload)
    return ack


def test_home_tab_is_published_and_the_modal_checks_in_the_field_then_dials(
    socket_world: World,
) -> None:
    before = len(socket_world.slack.calls_to("views.publish"))
    body = json.loads(event_callback_body(app_home_opened_event("UALICE001")))
    socket_world.send("events_api", body)
    view = json.dumps(published_home(socket_world, "UALICE001", before))
    assert "Your extension is *309*" in view and "open_dial_modal" in view

    socket_world.send(
        "interactive", global_shortcut_payload(user_id="UALICE001", callback_id="dial_from_modal")
    )
    assert socket_world.slack.wait_for_calls("views.open")[0].params["view"]["callback_id"] == (
        "dial_modal"
    )
    bad = {"number": {"number_input": {"type": "plain_text_input", "value": "911"}}}
    ack = submit(socket_world, "UALICE001", "dial_modal", bad)
    assert ack["response_action"] == "errors" and "emergency" in ack["errors"]["number"]
    socket_world.idle()
    assert socket_world.pbx.requests == 0
    good = {"number": {"number_input": {"type": "plain_text_input", "value": "580-867-5309"}}}
    ack = submit(socket_world, "UALICE001", "dial_modal", good)
    assert ack["response_action"] == "update"
    update = socket_world.slack.wait_for_calls("views.update")[0].params
    assert "ringing" in json.dumps(update["view"])
    assert len(socket_world.pbx.calls) == 1


def test_link_request_flow_and_link_by_email_over_socket_mode(socket_world: World) -> None:
    _, ack, _ = socket_world.dial("580-867-5309", user="UNOLINK01")
    assert "request_link" in json.dumps(ack.get("blocks"))
    response_url = socket_world.slack.response_url()
    socket_world.send(
        "interactive",
        dm_button_payload(
            user_id="UNOLINK01", action_id="request_link", value="x", response_url=response_url
        ),
    )
    assert "I've asked" in socket_world.final_reply(response_url)
    dm = socket_world.slack.wait_for_calls("chat.postMessage")[0].params
    assert dm["blocks"][0]["accessory"]["value"] == "UNOLINK01"
    values = {"extension": {"extension_input": {"type": "plain_text_input", "value": "412"}}}
    ack = submit(socket_world, ADMIN, "link_user_modal", values, meta="UNOLINK01")
    assert ack["response_action"] == "update"
    told = socket_world.slack.wait_for_calls("chat.postMessage", count=2)[1].params
    assert "extension 412" in told["text"]

    socket_world.slack.add_user("UDAVE0001", name="dave", email="dave@example.com")
    _, ack, _ = socket_world.link("<mailto:dave@example.com|dave@example.com> 420")
    assert ack["text"] == "Linked <@UDAVE0001> to extension 420."
