"""Slack's Web API unreachable from start-up: commands are served, the rest says Slack is away.

In-process, through the real HTTP adapter and Socket Mode intake; retries follow the
harness's short Backoff (FAST_BACKOFF), so a minute of Slack being away takes a moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.botproc import free_port
from tests.fakes.signing import app_home_opened_event, view_submission_payload
from tests.fakes.slack import FakeSlack
from tests.inproc.conftest import MakeWorld
from tests.inproc.harness import FAST_BACKOFF, World
from tests.waiting import wait_until
from tests.workspace import ADMIN, BOT_TOKEN

SLACK_AWAY = "could not reach Slack"
SOCKET_AWAY = "could not connect to Slack's Socket Mode"
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


def wait_retries(world: World, marker: str, count: int) -> None:
    """Block until the bot logged `count` failed tries."""
    wait_until(
        lambda: len(retry_lines(world.log, marker)) >= count,
        timeout=10,
        what=f"{count} lines {marker!r}",
    )


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
    make_world: MakeWorld, away: FakeSlack
) -> None:
    """Slack's API refusing connections since start-up: /dial still dials; Slack back: all works.

    `slack` stays up only as the catcher of response_url posts (hooks.slack.com is another
    host than slack.com/api, so one can be reachable while the other is not).
    """
    world = make_world(linked=False, SLACK_API_URL=away.api_url)
    pbx = world.pbx
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
    status, answer = world.interact(submission)
    assert status == 200 and answer["response_action"] == "errors", answer
    assert CANNOT_CHECK_ADMIN in answer["errors"]["extension"]
    status, ack, _ = world.link("owner@acme.com 412")
    assert status == 200 and "couldn't reach Slack to look up" in ack["text"], ack

    # Events are acked; Home cannot be published, which costs one line, not a traceback.
    assert world.event(app_home_opened_event(ADMIN)) == 200
    world.wait_logged("could not publish Home", timeout=5)

    wait_retries(world, SLACK_AWAY, 4)  # a few retries' worth of Slack being away
    assert_one_line_per_retry(world.log, SLACK_AWAY, longest=FAST_BACKOFF.longest)
    assert " 500 " not in world.log

    away.start()
    world.wait_logged("connected to Slack workspace Acme as dialer", timeout=5)
    status, ack, _ = world.link("<@UNEW00001> 412", user="UOWNER001")
    assert status == 200 and "Linked <@UNEW00001> to extension 412" in ack["text"], ack
    status, ack, response_url = world.dial("405-555-0101", user="UBOB00001")
    assert "Calling" in ack["text"] and "ringing" in world.final_reply(response_url)
    retries = len(retry_lines(world.log, SLACK_AWAY))
    world.idle()
    # Once connected nothing is left that could retry: the learner has ended.
    assert world.running("keep_trying") == 0, "kept retrying once connected"
    assert len(retry_lines(world.log, SLACK_AWAY)) == retries


def test_socket_mode_retries_one_line_each_then_connects_when_slack_returns(
    make_world: MakeWorld, away: FakeSlack
) -> None:
    """Socket Mode with Slack away: one short line per retry, growing waits; then it connects."""
    world = make_world("socket", linked=False, ready=False, slack=away)
    socket = world.socket
    assert socket is not None
    wait_retries(world, SOCKET_AWAY, 4)
    assert_one_line_per_retry(world.log, SOCKET_AWAY, longest=FAST_BACKOFF.longest)
    assert socket.connections == 0

    away.start()
    socket.wait_connected(timeout=5)
    world.wait_logged("connected to Slack's Socket Mode", timeout=5)
    world.link_everyone()
    _, ack, response_url = world.dial("580-867-5309")
    assert "Calling" in ack["text"]
    assert "ringing" in world.final_reply(response_url)
    _, ack, _ = world.link("<@UNEW00001> 412", user="UOWNER001")
    assert "Linked <@UNEW00001> to extension 412" in ack["text"], ack
    assert "Traceback" not in world.log


def test_socket_mode_websocket_refused_retries_one_line_each(
    make_world: MakeWorld, slack: FakeSlack
) -> None:
    """apps.connections.open answers, but nothing serves its URL: one line per retry, no trace."""
    slack.socket_mode_url = f"ws://127.0.0.1:{free_port()}/link"
    world = make_world("socket", ready=False)
    socket = world.socket
    assert socket is not None
    wait_retries(world, SOCKET_AWAY, 4)
    assert_one_line_per_retry(world.log, SOCKET_AWAY, longest=FAST_BACKOFF.longest)
    # Each try asks Slack for a fresh URL, so a URL that stopped working is not reused.
    assert len(slack.calls_to("apps.connections.open")) >= 3
    slack.socket_mode_url = socket.url
    socket.wait_connected(timeout=5)
    world.wait_logged("connected to Slack's Socket Mode", timeout=5)
    assert "Traceback" not in world.log


def test_socket_mode_reconnects_with_backoff_when_slack_goes_away_later(
    make_world: MakeWorld, away: FakeSlack
) -> None:
    """Connected, then Slack asks to reconnect while its API is down: retries, then reconnects."""
    away.start()
    world = make_world("socket", linked=False, slack=away)
    socket = world.socket
    assert socket is not None
    world.link_everyone()
    away.stop()
    socket.send_disconnect()
    wait_retries(world, SOCKET_AWAY, 4)
    assert_one_line_per_retry(world.log, SOCKET_AWAY, longest=FAST_BACKOFF.longest)
    assert socket.live_connections == 0
    away.start()
    socket.wait_connected(timeout=5, min_connections=2)
    _, ack, response_url = world.dial("580-867-5309")
    assert "Calling" in ack["text"] and "ringing" in world.final_reply(response_url)
    assert "Traceback" not in world.log
