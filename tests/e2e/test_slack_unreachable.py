"""Slack's Web API unreachable from start-up: commands are served, the rest says Slack is away."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.botproc import BotProcess, free_port
from tests.e2e.conftest import ADMIN, BOT_TOKEN, PBX_KEY, SIGNING_SECRET, World
from tests.e2e.socket_world import SocketWorld
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import (
    app_home_opened_event,
    event_callback_body,
    interactive_body,
    post_signed,
    view_submission_payload,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

#: A short retry schedule (first delay, longest delay) so a minute of Slack being away fits
#: in a few seconds of test; the production schedule is the same shape, in whole seconds.
FAST_RETRIES = {"DIALER_SLACK_RETRY": "0.2,1"}
SLACK_AWAY = "could not reach Slack"
CANNOT_CHECK_ADMIN = "couldn't reach Slack to check that you're an admin"
NEXT_TRY = re.compile(r"next try in (\d+(?:\.\d+)?)s")


@pytest.fixture
def away() -> Iterator[FakeSlack]:
    """Slack's Web API at a fixed loopback address where nothing listens until start()."""
    fake = FakeSlack(bot_token=BOT_TOKEN, port=free_port())
    fake.add_user(ADMIN, name="admin")
    fake.add_user("UOWNER001", name="owner", is_owner=True)
    try:
        yield fake
    finally:
        fake.stop()


def retry_lines(log: str, marker: str) -> list[str]:
    """The log lines that report one failed try to reach Slack."""
    return [line for line in log.splitlines() if marker in line]


def assert_one_line_per_retry(log: str, marker: str, *, longest: float) -> None:
    """Every retry is one line naming the reason and the next try; the waits grow to a cap."""
    lines = retry_lines(log, marker)
    assert len(lines) >= 3, log
    waits = []
    for line in lines:
        found = NEXT_TRY.search(line)
        assert found, f"no 'next try in' on a retry line: {line!r}"
        waits.append(float(found[1]))
        assert "Error" in line or "refused" in line or "timed out" in line, line
    assert waits == sorted(waits), waits
    assert waits[0] < waits[-1] <= longest, waits
    assert "Traceback" not in log and "  File " not in log


def test_http_mode_serves_commands_while_slack_is_away_then_recovers(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack, away: FakeSlack
) -> None:
    """Slack's API refusing connections since start-up: /dial still dials; Slack back: all works.

    `slack` stays up only as the catcher of response_url posts (hooks.slack.com is another
    host than slack.com/api, so one can be reachable while the other is not).
    """
    world = World(tmp_path, pbx, slack)
    world.extra_env.update(FAST_RETRIES, SLACK_API_URL=away.api_url)
    try:
        bot = world.start()
        world.link_everyone()  # ADMIN is in DIALER_ADMINS: no Web API needed

        status, ack, response_url = world.dial("580-867-5309")
        assert status == 200 and "Calling +1 580-867-5309" in ack["text"], ack
        assert "ringing" in world.final_reply(response_url)
        assert [(c.extension, c.phonenumber) for c in pbx.calls] == [("309", "15808675309")]

        status, ack, _ = world.dial("")
        assert status == 200 and "/dial" in ack["text"], ack

        # The owner is an admin only by Slack's word, which cannot be asked right now.
        status, ack, _ = world.link("<@UNEW00001> 412", user="UOWNER001")
        assert status == 200 and CANNOT_CHECK_ADMIN in ack["text"], ack
        # The link modal, submitted by the owner: the sentence shows next to the input.
        values = {"extension": {"extension_input": {"type": "plain_text_input", "value": "412"}}}
        submission = view_submission_payload(
            user_id="UOWNER001",
            callback_id="link_user_modal",
            values=values,
            private_metadata="UNEW00001",
        )
        status, text, _ = post_signed(world.url, interactive_body(submission), SIGNING_SECRET)
        answer = json.loads(text)
        assert status == 200 and answer["response_action"] == "errors", text
        assert CANNOT_CHECK_ADMIN in answer["errors"]["extension"]
        status, ack, _ = world.link("owner@acme.com 412")
        assert status == 200 and "couldn't reach Slack to look up" in ack["text"], ack

        # Events are acked; Home cannot be published, which costs one line, not a traceback.
        status, _, _ = post_signed(
            world.url,
            event_callback_body(app_home_opened_event(ADMIN)),
            SIGNING_SECRET,
            content_type="application/json",
        )
        assert status == 200
        bot.wait_for("could not publish Home", timeout=5)

        time.sleep(3.0)  # a few retries' worth of Slack being away (0.2 s, 0.4 s, 0.8 s, 1 s…)
        assert_one_line_per_retry(bot.log, SLACK_AWAY, longest=1.0)
        assert " 500 " not in bot.log

        away.start()
        bot.wait_for("connected to Slack workspace Acme as dialer", timeout=5)
        status, ack, _ = world.link("<@UNEW00001> 412", user="UOWNER001")
        assert status == 200 and "Linked <@UNEW00001> to extension 412" in ack["text"], ack
        status, ack, response_url = world.dial("405-555-0101", user="UBOB00001")
        assert "Calling" in ack["text"] and "ringing" in world.final_reply(response_url)
        retries = len(retry_lines(bot.log, SLACK_AWAY))
        time.sleep(1.5)
        assert len(retry_lines(bot.log, SLACK_AWAY)) == retries, "kept retrying once connected"
    finally:
        world.stop()
    for secret in (PBX_KEY, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in bot.log


def test_socket_mode_retries_one_line_each_then_connects_when_slack_returns(
    tmp_path: Path, pbx: FakePbx, away: FakeSlack
) -> None:
    """Socket Mode with Slack away: one short line per retry, growing waits; then it connects."""
    with FakeSocketMode() as socket:
        world = SocketWorld(tmp_path, pbx, away, socket)
        world.extra_env.update(FAST_RETRIES)
        bot = BotProcess(world.env).start(wait_ready=False)
        world.bot = bot
        try:
            bot.wait_for("could not connect to Slack's Socket Mode", timeout=20)
            time.sleep(3.0)
            assert "ready:" not in bot.log
            assert_one_line_per_retry(
                bot.log, "could not connect to Slack's Socket Mode", longest=1
            )
            assert socket.connections == 0

            away.start()
            socket.wait_connected(timeout=5)
            bot.wait_for("ready: Socket Mode", timeout=5)
            world.link_everyone()
            ack, response_url = world.dial("580-867-5309")
            assert "Calling" in ack["text"]
            assert "ringing" in world.final_reply(response_url)
            ack, _ = world.link("<@UNEW00001> 412", user="UOWNER001")
            assert "Linked <@UNEW00001> to extension 412" in ack["text"], ack
        finally:
            world.stop()
    assert "Traceback" not in bot.log
    for secret in (PBX_KEY, BOT_TOKEN, away.app_token):
        assert secret not in bot.log


def test_socket_mode_websocket_refused_retries_one_line_each(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack
) -> None:
    """apps.connections.open answers, but nothing serves its URL: one line per retry, no trace."""
    with FakeSocketMode() as socket:
        world = SocketWorld(tmp_path, pbx, slack, socket)
        world.extra_env.update(FAST_RETRIES)
        slack.socket_mode_url = f"ws://127.0.0.1:{free_port()}/link"
        bot = BotProcess(world.env).start(wait_ready=False)
        world.bot = bot
        try:
            bot.wait_for("could not connect to Slack's Socket Mode", timeout=20)
            time.sleep(3.0)
            assert_one_line_per_retry(
                bot.log, "could not connect to Slack's Socket Mode", longest=1
            )
            # Each try asks Slack for a fresh URL, so a URL that stopped working is not reused.
            assert len(slack.calls_to("apps.connections.open")) >= 3
            slack.socket_mode_url = socket.url
            socket.wait_connected(timeout=5)
            bot.wait_for("ready: Socket Mode", timeout=5)
        finally:
            world.stop()
    assert "Traceback" not in bot.log


def test_socket_mode_reconnects_with_backoff_when_slack_goes_away_later(
    tmp_path: Path, pbx: FakePbx, away: FakeSlack
) -> None:
    """Connected, then Slack asks to reconnect while its API is down: retries, then reconnects."""
    away.start()
    with FakeSocketMode() as socket:
        world = SocketWorld(tmp_path, pbx, away, socket)
        world.extra_env.update(FAST_RETRIES)
        bot = world.start()
        try:
            world.link_everyone()
            away.stop()
            socket.send_disconnect()
            bot.wait_for("could not connect to Slack's Socket Mode", timeout=10)
            time.sleep(2.5)
            assert_one_line_per_retry(
                bot.log, "could not connect to Slack's Socket Mode", longest=1
            )
            assert socket.live_connections == 0
            away.start()
            socket.wait_connected(timeout=5, min_connections=2)
            ack, response_url = world.dial("580-867-5309")
            assert "Calling" in ack["text"] and "ringing" in world.final_reply(response_url)
        finally:
            world.stop()
    assert "Traceback" not in bot.log
