"""Socket Mode in-process: envelopes over a WebSocket in, acks back, one PBX call out.

The transport (bot.__main__.SocketModeIntake against a FakeSocketMode): connecting, acking and
reconnecting. Stopping on SIGTERM, and one connect-and-reconnect journey, run as a real
process in tests/e2e/test_socket_mode.py.
"""

from __future__ import annotations

import asyncio
import time

from tests.fakes.signing import (
    block_actions_payload,
    message_action_payload,
    slash_command_payload,
)
from tests.inproc.harness import World

NUMBER = "580-867-5309"


def calls(world: World) -> list[tuple[str, str]]:
    """What the PBX was asked to dial, as (extension, phonenumber) pairs."""
    return [(c.extension, c.phonenumber) for c in world.pbx.calls]


def test_bot_connects_with_the_app_token_and_acks_before_a_slow_pbx(
    socket_world: World,
) -> None:
    """The WebSocket is opened with the xapp- token; /dial is acked while the PBX still works."""
    opens = socket_world.slack.calls_to("apps.connections.open")
    assert [call.token for call in opens] == [socket_world.slack.app_token]
    assert socket_world.socket.live_connections == 1
    assert "SLACK_SIGNING_SECRET" not in socket_world.env
    assert "connected to Slack's Socket Mode" in socket_world.log

    socket_world.pbx.latency = 2.0
    _, ack, response_url = socket_world.dial(NUMBER)
    # The ack is in hand; the PBX (2 s) has not answered and nothing final was posted yet.
    assert socket_world.pbx.calls == []
    assert socket_world.slack.posts_to(response_url) == []
    assert ack["text"].endswith("Calling +1 580-867-5309 from extension 309…")
    assert ack["response_type"] == "ephemeral"
    final = socket_world.final_reply(response_url, timeout=10)
    assert "ringing" in final and "+1 580-867-5309" in final
    [post] = socket_world.slack.posts_to(response_url)
    assert post["response_type"] == "ephemeral"
    assert calls(socket_world) == [("309", "15808675309")]


def test_message_shortcut_dials_its_number_or_offers_buttons(socket_world: World) -> None:
    """One number: acked empty, then 'Calling…' and 'ringing'. Several: buttons; a click dials."""
    socket_world.pbx.latency = 1.0
    response_url = socket_world.slack.response_url()
    payload = message_action_payload(
        user_id="UBOB00001",
        text="call me at <tel:+15808675309|+1 580-867-5309>",
        response_url=response_url,
    )
    _, ack = socket_world.envelope("interactive", payload)
    assert ack.get("payload") in (None, {})
    assert socket_world.pbx.calls == []
    first = socket_world.final_reply(response_url, count=1)
    assert "Calling +1 580-867-5309 from extension 310" in first
    final = socket_world.final_reply(response_url, count=2)
    assert "ringing" in final
    assert calls(socket_world) == [("310", "15808675309")]

    socket_world.pbx.latency = 0.0
    offer_url = socket_world.slack.response_url()
    payload = message_action_payload(
        user_id="UALICE001", text="office 580-867-5309, cell 405-555-0143", response_url=offer_url
    )
    _, ack = socket_world.envelope("interactive", payload)
    assert ack.get("payload") in (None, {})
    [offer] = socket_world.slack.wait_for_posts(offer_url)
    buttons = [element for block in offer["blocks"] for element in block.get("elements", ())]
    assert [b["action_id"] for b in buttons] == ["dial_choice_0", "dial_choice_1"]
    socket_world.idle()
    assert socket_world.pbx.requests == 1, "an offer dials nothing"
    chosen = buttons[1]
    assert chosen["value"].startswith("+1")

    response_url = socket_world.slack.response_url()
    payload = block_actions_payload(
        user_id="UALICE001",
        action_id=chosen["action_id"],
        value=chosen["value"],
        response_url=response_url,
    )
    _, ack = socket_world.envelope("interactive", payload)
    assert ack.get("payload") in (None, {})
    final = socket_world.final_reply(response_url, count=2)
    assert "ringing" in final
    posts = socket_world.slack.posts_to(response_url)
    assert [p["replace_original"] for p in posts] == [True, True]
    assert calls(socket_world)[1:] == [("309", chosen["value"].lstrip("+"))]


def test_disconnect_or_dropped_websocket_reconnects_and_the_next_dial_is_served(
    socket_world: World,
) -> None:
    """Slack's 'disconnect', or a WebSocket closed under the bot: it reopens and serves on."""
    socket = socket_world.socket
    socket.send_disconnect("refresh_requested")
    socket.wait_connected(timeout=5, min_connections=2)
    assert len(socket_world.slack.calls_to("apps.connections.open")) == 2
    _, ack, response_url = socket_world.dial(NUMBER)
    assert "Calling +1 580-867-5309" in ack["text"]
    assert "ringing" in socket_world.final_reply(response_url)
    assert calls(socket_world) == [("309", "15808675309")]

    socket.drop(graceful=True)
    socket.wait_connected(timeout=5, min_connections=3)
    assert len(socket_world.slack.calls_to("apps.connections.open")) == 3
    _, ack, response_url = socket_world.dial("604-555-0143", user="UBOB00001")
    assert "Calling +1 604-555-0143 from extension 310" in ack["text"]
    assert "ringing" in socket_world.final_reply(response_url)
    assert calls(socket_world)[1:] == [("310", "16045550143")]


def test_an_envelope_that_arrives_while_stopping_is_still_acked_then_the_socket_closes(
    socket_world: World,
) -> None:
    """SIGTERM's intake drain: envelopes on the old socket are acked until it is closed."""
    world = socket_world
    assert world._loop is not None and world.bot is not None and world.socket is not None
    world.slack.response_delay = 0.8  # users.info is slow: the owner's /dial-link acks late
    slow = world.socket.send_envelope(
        "slash_commands",
        slash_command_payload(
            "/dial-link",
            "<@UBOB00001> 420",
            user_id="UOWNER001",
            response_url=world.slack.response_url(),
        ),
    )
    time.sleep(0.2)  # the slow envelope is being handled
    stopping = asyncio.run_coroutine_threadsafe(world.bot.intake.stop_intake(), world._loop.loop)
    time.sleep(0.1)
    late = world.socket.send_envelope(
        "slash_commands",
        slash_command_payload(
            "/dial", "help", user_id="UALICE001", response_url=world.slack.response_url()
        ),
    )
    assert "How to dial" in world.socket.wait_ack(late, timeout=3)["payload"]["text"]
    assert "to 420" in world.socket.wait_ack(slow, timeout=3)["payload"]["text"]
    stopping.result(timeout=5)  # then the socket is closed, well within Slack's 3 s
    assert world.socket.ack_latency(late) < 3 and world.socket.ack_latency(slow) < 3
