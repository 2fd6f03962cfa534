"""Socket Mode as a real process: connecting, reconnecting and stopping on SIGTERM.

One process per journey. The same transport in-process, and what each listener answers over
envelopes: tests/inproc/test_socket_mode.py and the `any_world` tests in tests/inproc.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.botproc import BotProcess, free_port
from tests.e2e.socket_world import SocketWorld
from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.waiting import wait_until

NUMBER = "580-867-5309"


def calls(world: SocketWorld) -> list[tuple[str, str]]:
    """What the PBX was asked to dial, as (extension, phonenumber) pairs."""
    return [(c.extension, c.phonenumber) for c in world.pbx.calls]


def test_bot_connects_acks_before_a_slow_pbx_and_reconnects(socket_world: SocketWorld) -> None:
    """The WebSocket is opened with the xapp- token; /dial is acked while the PBX still works.

    Then Slack's 'disconnect', or a WebSocket closed under the bot: it reopens and serves on.
    """
    opens = socket_world.slack.calls_to("apps.connections.open")
    assert [call.token for call in opens] == [socket_world.app_token]
    assert socket_world.socket.live_connections == 1
    assert "SLACK_SIGNING_SECRET" not in socket_world.env
    assert "ready: Socket Mode" in socket_world.bot.log

    socket_world.pbx.latency = 2.0
    ack, response_url = socket_world.dial(NUMBER)
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

    socket_world.pbx.reset()
    socket = socket_world.socket
    socket.send_disconnect("refresh_requested")
    socket.wait_connected(timeout=5, min_connections=2)
    assert len(socket_world.slack.calls_to("apps.connections.open")) == 2
    ack, response_url = socket_world.dial("405-555-0155")  # not a repeat of the first
    assert "Calling +1 405-555-0155" in ack["text"]
    assert "ringing" in socket_world.final_reply(response_url)
    assert calls(socket_world) == [("309", "14055550155")]

    socket.drop(graceful=True)
    socket.wait_connected(timeout=5, min_connections=3)
    assert len(socket_world.slack.calls_to("apps.connections.open")) == 3
    ack, response_url = socket_world.dial("604-555-0143", user="UBOB00001")
    assert "Calling +1 604-555-0143 from extension 310" in ack["text"]
    assert "ringing" in socket_world.final_reply(response_url)
    assert calls(socket_world)[1:] == [("310", "16045550143")]


def test_sigterm_closes_the_socket_then_finishes_the_dial_in_flight(
    socket_world: SocketWorld, tmp_path: Path, pbx: FakePbx, slack: FakeSlack
) -> None:
    """SIGTERM mid-call: the WebSocket closes at once, the call completes and is answered.

    And a bot that cannot connect (a WebSocket URL nobody serves) still stops promptly, exit 0.
    """
    socket_world.pbx.latency = 2.0
    ack, response_url = socket_world.dial(NUMBER)
    assert "Calling" in ack["text"]
    bot = socket_world.bot
    assert bot is not None and bot.proc is not None
    bot.proc.send_signal(signal.SIGTERM)
    # Slack stops routing to this process while its call is still with the PBX.
    wait_until(lambda: socket_world.socket.live_connections == 0, what="the WebSocket to close")
    assert socket_world.slack.posts_to(response_url) == []
    assert bot.wait_exit(timeout=15) == 0
    [post] = socket_world.slack.posts_to(response_url)
    assert "ringing" in post["text"]
    assert calls(socket_world) == [("309", "15808675309")]
    assert "stopped" in bot.log

    pbx.reset()
    with FakeSocketMode() as socket:
        setup = SocketWorld(tmp_path, pbx, slack, socket)
        slack.socket_mode_url = f"ws://127.0.0.1:{free_port()}/link"
        bot = BotProcess(setup.env).start(wait_ready=False)
        try:
            bot.wait_for("could not connect to Slack's Socket Mode", timeout=10)
            started = time.monotonic()
            assert bot.terminate() == 0
            assert time.monotonic() - started < 5
        finally:
            bot.kill()
        assert "ready:" not in bot.log and "stopped" in bot.log
