"""Each Slack request acts at most once: replays, Slack's retries and redelivered envelopes.

Each repeat comes 11 s after the original (the bot's clock is moved on), past the 10-second
duplicate guard, so only the record of handled requests stands between it and a second call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.fakes.signing import (
    app_home_opened_event,
    block_actions_payload,
    event_callback_body,
    interactive_body,
    message_action_payload,
    signed_headers,
    slash_command_body,
    slash_command_payload,
    view_submission_payload,
)
from tests.inproc.harness import World
from tests.waiting import wait_until
from tests.workspace import SIGNING_SECRET

PAST_THE_DUPLICATE_GUARD = 11.0
REPEAT = "ignored a repeat of"


@dataclass
class Sent:
    """One signed request exactly as it went out, so it can be sent again byte for byte."""

    name: str
    body: str
    headers: dict[str, str]
    response_url: str | None = None


def send(world: World, name: str, body: str, *, response_url: str | None = None, **kw) -> Sent:
    """Sign and send a request; answer it for replaying."""
    content_type = kw.pop("content_type", "application/x-www-form-urlencoded")
    headers = signed_headers(body, SIGNING_SECRET, content_type=content_type)
    status, text, _ = world.post_raw(body, headers)
    assert status == 200, (name, status, text)
    return Sent(name, body, headers, response_url)


def replay(world: World, sent: Sent, **extra_headers: str) -> None:
    """Send the same bytes with the same signature again: acked, empty, nothing done."""
    status, text, seconds = world.post_raw(sent.body, {**sent.headers, **extra_headers})
    assert (status, text) == (200, ""), (sent.name, status, text)
    assert seconds < 3.0, (sent.name, seconds)


def originals(world: World) -> list[Sent]:
    """A /dial, a message shortcut, a choice button, the dial modal and a Home event."""
    slack = world.slack
    sent: list[Sent] = []
    url = slack.response_url()
    body = slash_command_body("/dial", "580-867-5309", user_id="UALICE001", response_url=url)
    sent.append(send(world, "/dial", body, response_url=url))
    url = slack.response_url()
    shortcut = message_action_payload(
        user_id="UBOB00001", text="ring 405-555-0143", response_url=url
    )
    sent.append(send(world, "shortcut", interactive_body(shortcut), response_url=url))
    url = slack.response_url()
    click = block_actions_payload(
        user_id="UCAROL001", action_id="dial_choice_0", value="+16045550143", response_url=url
    )
    sent.append(send(world, "button", interactive_body(click), response_url=url))
    values = {"number": {"number_input": {"type": "plain_text_input", "value": "405-555-0199"}}}
    modal = view_submission_payload(user_id="UALICE001", callback_id="dial_modal", values=values)
    sent.append(send(world, "modal", interactive_body(modal)))
    # Someone who dials nothing here, so no call's Home refresh races the counts.
    event = event_callback_body(app_home_opened_event("UNOLINK01"))
    sent.append(send(world, "event", event, content_type="application/json"))
    return sent


def settled(world: World, sent: list[Sent]) -> dict[str, int]:
    """Wait for every original to finish; answer what Slack and the PBX have seen."""
    for request in sent:
        if request.response_url:
            count = 1 if request.name == "/dial" else 2  # "Calling…" is the /dial's ack
            posts = world.slack.wait_for_posts(request.response_url, count=count, timeout=10)
            assert "ringing" in posts[-1]["text"], (request.name, posts)
    world.slack.wait_for_calls("views.update", count=1, timeout=10)  # the modal's outcome
    world.slack.wait_for_calls("views.publish", count=1, timeout=10)  # the Home tab
    wait_until(lambda: len(world.pbx.calls) >= 4, timeout=10, what="the four calls")
    world.idle()
    return seen(world, sent)


def seen(world: World, sent: list[Sent]) -> dict[str, int]:
    """Counts of everything a repeat could have caused."""
    return {
        "pbx": len(world.pbx.calls),
        "publish": len(world.slack.calls_to("views.publish")),
        "update": len(world.slack.calls_to("views.update")),
        **{r.name: len(world.slack.posts_to(r.response_url)) for r in sent if r.response_url},
    }


def sentinel(world: World, number: str) -> None:
    """A fresh /dial that must work; by the time it has rung, any repeat would have too."""
    status, ack, url = world.dial(number, user="UBOB00001")
    assert status == 200 and "Calling" in ack["text"], ack
    assert "ringing" in world.final_reply(url)


def test_replays_after_eleven_seconds_and_after_a_restart_do_nothing(world: World) -> None:
    """The finding: each replayed signed request placed a call again. Now each is acked empty."""
    sent = originals(world)
    before = settled(world, sent)
    assert before["pbx"] == 4 and sorted(c.phonenumber for c in world.pbx.calls) == sorted(
        ["15808675309", "14055550143", "16045550143", "14055550199"]
    )
    world.advance(PAST_THE_DUPLICATE_GUARD)

    for request in sent:
        if request.name == "event":  # Slack's own retry of an event it thinks was missed
            replay(
                world, request, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            )
        else:
            replay(world, request)
    sentinel(world, "604-555-0100")
    world.idle()
    assert seen(world, sent) == {**before, "pbx": before["pbx"] + 1}
    log = world.log
    assert log.count(REPEAT) == 5, log
    for what in (
        "a slash command /dial",
        "a message shortcut",
        "a button click",
        "a modal submission",
        "an event app_home_opened (Slack's retry 1: http_timeout)",
    ):
        assert f"{REPEAT} {what}\n" in log, what

    world.restart()  # same database: the record of handled requests survives
    logged_before = len(world.log)
    for request in sent:
        replay(world, request)
    sentinel(world, "604-555-0101")
    world.idle()
    assert seen(world, sent) == {**before, "pbx": before["pbx"] + 2}
    assert world.log[logged_before:].count(REPEAT) == 5
    assert "Traceback" not in world.log


def test_a_request_that_fails_verification_claims_nothing(world: World) -> None:
    """A forged copy sent first must not stop the genuine request with the same trigger_id."""
    url = world.slack.response_url()
    body = slash_command_body(
        "/dial", "580-867-5309", user_id="UALICE001", response_url=url, trigger_id="77.88.forged"
    )
    status, _ = world.post(body, secret="not-the-signing-secret")
    assert status == 401
    status, text = world.post(body)
    assert status == 200 and "Calling" in json.loads(text)["text"]
    assert "ringing" in world.final_reply(url)
    assert len(world.pbx.calls) == 1


# --- Socket Mode ------------------------------------------------------------------------------


def test_socket_mode_redeliveries_are_acked_and_do_nothing(socket_world: World) -> None:
    """The finding: an envelope resent with retry_attempt placed a call again."""
    world, socket = socket_world, socket_world.socket
    assert socket is not None
    url = world.slack.response_url()
    command = slash_command_payload("/dial", "580-867-5309", user_id="UALICE001", response_url=url)
    dial_id, ack = world.envelope("slash_commands", command)
    assert "Calling" in ack["payload"]["text"]
    event = json.loads(event_callback_body(app_home_opened_event("UNOLINK01")))
    event_id, _ = world.envelope("events_api", event)
    assert "ringing" in world.final_reply(url)
    world.slack.wait_for_calls("views.publish", count=1)
    before = {"pbx": len(world.pbx.calls), "publish": len(world.slack.calls_to("views.publish"))}
    world.advance(PAST_THE_DUPLICATE_GUARD)

    # Slack resends the same envelope, then the same payload in a new envelope, and the event.
    socket.send_envelope(
        "slash_commands", command, envelope_id=dial_id, retry_attempt=1, retry_reason="timeout"
    )
    _, again = socket.wait_acks(dial_id, count=2)
    assert "payload" not in again or not again["payload"], again
    other = socket.send_envelope("slash_commands", command, retry_attempt=2, retry_reason="timeout")
    assert not socket.wait_ack(other).get("payload")
    socket.send_envelope(
        "events_api", event, envelope_id=event_id, retry_attempt=1, retry_reason="timeout"
    )
    socket.wait_acks(event_id, count=2)

    status_url = world.slack.response_url()
    fresh = slash_command_payload(
        "/dial", "604-555-0100", user_id="UBOB00001", response_url=status_url
    )
    _, ack = world.envelope("slash_commands", fresh)
    assert "Calling" in ack["payload"]["text"]
    assert "ringing" in world.final_reply(status_url)
    world.idle()
    assert len(world.pbx.calls) == before["pbx"] + 1
    assert len(world.slack.calls_to("views.publish")) == before["publish"]
    assert world.slack.posts_to(url)[1:] == []
    log = world.log
    assert log.count(REPEAT) == 3, log
    assert f"{REPEAT} a slash command /dial (Slack's retry 1: timeout)" in log
    assert f"{REPEAT} a slash command /dial (Slack's retry 2: timeout)" in log
    assert f"{REPEAT} an event app_home_opened (Slack's retry 1: timeout)" in log
