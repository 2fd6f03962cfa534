"""Requests that are not Slack's, or cannot be read: a 4xx, one short log line, nothing else.

Sent over HTTP to the bot's real aiohttp application (the in-process harness serves it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import urllib.parse

import pytest

from tests.fakes.signing import slash_command_body
from tests.inproc.harness import World
from tests.waiting import wait_until
from tests.workspace import SIGNING_SECRET

REFUSED = "refused a request to /slack/events"
#: A record's first line in the text format; any other line is an indented continuation.
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.:-]+: ")
SHORT_LINE = 200


def post_raw(world: World, body: bytes, headers: dict) -> int:
    """POST bytes as they are, with exactly these headers; answer the HTTP status."""
    return world.post_raw(body, headers)[0]


def signed(body: bytes, *, timestamp: str | None = None) -> dict[str, str]:
    """Headers that sign the raw bytes as Slack would (even bytes that are not UTF-8)."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


UNSIGNED = {"Content-Type": "application/x-www-form-urlencoded"}


def log_lines(world: World) -> list[str]:
    return world.log_lines()


def new_lines_after(world: World, before: int, expected: int, timeout: float = 5.0) -> list[str]:
    """The log lines written since `before`, once `expected` have come and the bot is idle."""
    wait_until(
        lambda: len(log_lines(world)) - before >= expected,
        timeout=timeout,
        what=f"{expected} new log line(s)",
    )
    world.idle()  # nothing the request caused is still running: no more lines can come
    return log_lines(world)[before:]


def assert_every_line_is_a_record_or_indented(world: World) -> None:
    for line in log_lines(world):
        assert RECORD_START.match(line) or line.startswith("    "), f"forged line: {line!r}"


def assert_still_serving(world: World) -> None:
    status, ack, response_url = world.dial("580-867-5309", user="UCAROL001")
    assert status == 200 and "Calling" in ack["text"], ack
    assert "ringing" in world.final_reply(response_url)
    assert "Traceback" not in world.log and "Error handling request" not in world.log


def test_unsigned_900_kb_bodies_cost_one_short_line_each(world: World) -> None:
    """Five unsigned 900 KB bodies: 401 each, one short line each, not a byte of the body."""
    body = b"token=x&text=" + b"A" * (900 * 1024)
    before = len(log_lines(world))
    size_before = len(world.log)
    for _ in range(5):
        assert post_raw(world, body, UNSIGNED) == 401
    lines = new_lines_after(world, before, expected=5)
    assert len(lines) == 5, lines
    for line in lines:
        assert REFUSED in line and "no Slack signature" in line, line
        assert f"{len(body)} bytes" in line and "127.0.0.1" in line, line
        assert len(line) < SHORT_LINE, line
    assert len(world.log) - size_before < 5 * SHORT_LINE
    assert "AAAA" not in world.log
    assert_still_serving(world)


def test_a_body_over_the_limit_is_refused_in_one_line(world: World) -> None:
    before = len(log_lines(world))
    assert post_raw(world, b"text=" + b"B" * (1100 * 1024), UNSIGNED) == 413
    [line] = new_lines_after(world, before, expected=1)
    assert REFUSED in line and "over" in line and len(line) < SHORT_LINE, line
    assert_still_serving(world)


def test_newlines_in_request_data_forge_no_log_line(world: World) -> None:
    """A newline in an unsigned body, or in a signed field that gets logged, stays escaped."""
    forged = "\n2030-01-01 00:00:00,000 ERROR bot: FORGED"
    body = ("token=x&text=" + urllib.parse.quote(forged)).encode()
    before = len(log_lines(world))
    assert post_raw(world, body, UNSIGNED) == 401
    [line] = new_lines_after(world, before, expected=1)
    assert "FORGED" not in line and "\n" not in line

    # A signed /dial-link from a "user" whose ID carries a newline: users.info is asked about
    # it, fails, and that warning names the ID. The ID's newline must not start a record.
    evil = "UEVIL0001" + forged
    command = slash_command_body(
        "/dial-link", "<@UNEW00001> 412", user_id=evil, response_url=world.slack.response_url()
    )
    status, _ = world.post(command)
    assert status == 200
    world.wait_logged("FORGED", timeout=5)
    [line] = [line for line in log_lines(world) if "FORGED" in line]
    assert RECORD_START.match(line) and "UEVIL0001\\n2030-01-01" in line, line
    assert not any(line.startswith("2030-01-01") for line in log_lines(world))
    assert_every_line_is_a_record_or_indented(world)
    assert_still_serving(world)


MALFORMED = {
    "payload-not-json": b"payload=not-json",
    "payload-a-list": b"payload=" + urllib.parse.quote("[1, 2]").encode(),
    "payload-a-string": b"payload=" + urllib.parse.quote('"text"').encode(),
    "payload-null": b"payload=null",
    "payload-a-number": b"payload=42",
    "payload-half-an-object": b"payload=" + urllib.parse.quote('{"type": "block_').encode(),
    "payload-fields-of-wrong-types": b"payload="
    + urllib.parse.quote('{"team": 5, "user": [1], "channel": 7}').encode(),
    "json-a-list": b"[]",
    "json-broken": b'{"type": "event_callback", ',
    "not-utf-8": b"token=x&text=\xff\xfe\xfd&user_id=U\xc3",
}


@pytest.mark.parametrize("is_signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_bodies_that_cannot_be_read_get_a_4xx_and_no_traceback(
    world: World, body: bytes, is_signed: bool
) -> None:
    headers = signed(body) if is_signed else UNSIGNED
    if body.startswith((b"[", b"{")):
        headers = {**headers, "Content-Type": "application/json"}
    before = len(log_lines(world))
    status = post_raw(world, body, headers)
    assert 400 <= status < 500, status
    if is_signed or body.startswith(b"token=x&text=\xff"):
        assert status == 400
    [line] = new_lines_after(world, before, expected=1)
    assert REFUSED in line and len(line) < SHORT_LINE, line
    assert_still_serving(world)
    assert world.pbx.requests == 1  # only the check's own dial


@pytest.mark.parametrize(
    "timestamp", ["abc", "1e9", "-5", " 17", "１７００００００００", "9" * 40, ""]
)
def test_a_timestamp_that_is_not_a_number_is_refused_without_a_traceback(
    world: World, timestamp: str
) -> None:
    body = slash_command_body(
        "/dial", "580-867-5309", user_id="UALICE001", response_url=world.slack.response_url()
    ).encode()
    headers: dict = signed(body, timestamp=timestamp)
    if not timestamp.isascii():  # http.client sends bytes as they are, str only as latin-1
        headers["X-Slack-Request-Timestamp"] = timestamp.encode()
    before = len(log_lines(world))
    assert post_raw(world, body, headers) == 401
    [line] = new_lines_after(world, before, expected=1)
    assert REFUSED in line and len(line) < SHORT_LINE, line
    assert_still_serving(world)
    assert world.pbx.requests == 1


def test_a_genuine_but_late_request_leaves_no_response_url_in_the_log(world: World) -> None:
    """Signed by Slack six minutes ago: 401, one line saying so, and no response_url in it."""
    response_url = world.slack.response_url("late")
    body = slash_command_body(
        "/dial", "580-867-5309", user_id="UALICE001", response_url=response_url
    )
    before = len(log_lines(world))
    status, _ = world.post(body, timestamp=int(time.time()) - 360)
    assert status == 401
    [line] = new_lines_after(world, before, expected=1)
    assert "more than 5 minutes old" in line, line
    path = urllib.parse.urlsplit(response_url).path
    assert path not in world.log and urllib.parse.quote(path, safe="") not in world.log
    assert world.pbx.calls == [] and world.slack.posts_to(response_url) == []
