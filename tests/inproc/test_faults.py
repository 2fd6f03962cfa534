"""The fault suite: a failing PBX, Slack or database never loses, repeats or garbles a call.

In-process over the real HTTP adapter; what needs a real process (SIGKILL, SIGTERM) is in
tests/e2e/test_signals.py.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from tests.botproc import free_port
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import signed_headers, slash_command_body
from tests.fakes.slack import FakeSlack
from tests.inproc.harness import World
from tests.workspace import BOT_TOKEN, PBX_KEY, SIGNING_SECRET

HTML_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
)
STORE_BUSY = "The dialer is busy right now, so nothing was dialed"
LINKS_BUSY = "The link database is busy right now, so nothing changed"


# --- helpers ----------------------------------------------------------------------------------


def rows(db_path: str, sql: str, *args: object) -> list[tuple]:
    """Run a read-only query on the bot's SQLite file from outside the bot."""
    with closing(sqlite3.connect(db_path, timeout=10)) as conn:
        return conn.execute(sql, args).fetchall()


def outcomes(world: World, user: str) -> list[str]:
    """The call log outcomes of one user, oldest first."""
    found = rows(world.db_path, "SELECT outcome FROM calls WHERE user_id = ? ORDER BY id", user)
    return [outcome for (outcome,) in found]


def assert_next_dial_is_normal(world: World, number: str, user: str = "UCAROL001") -> None:
    """After a fault, a fresh /dial is acked 'Calling', placed once and answered 'ringing'."""
    requests_before = world.pbx.requests
    digits = "1" + "".join(ch for ch in number if ch.isdigit())
    status, ack, response_url = world.dial(number, user=user)
    assert status == 200 and "Calling" in ack["text"], ack
    final = world.final_reply(response_url, timeout=10)
    assert "ringing" in final, final
    assert world.pbx.requests == requests_before + 1
    assert any(c.phonenumber == digits for c in world.pbx.calls)
    assert world.bot is not None, "the bot stopped"


#: Every fault here runs with JSON logs, and every line the bot logs must parse: an operator
#: shipping them to a log store must never get a half-line, a traceback or a raw newline.
JSON_LOGS = {"DIALER_LOG_FORMAT": "json"}


def assert_json_lines(setup: World) -> None:
    """Every line the bot logged is one JSON object with the standard fields, and no secret."""
    setup.json_records()
    assert PBX_KEY not in setup.log, "the PBX key leaked into the log"
    assert BOT_TOKEN not in setup.log, "the bot token leaked into the log"


def started_world(tmp_path: Path, pbx: FakePbx, slack: FakeSlack, **env: str) -> World:
    """A World with extra settings (and JSON logs), started, the standard users linked."""
    setup = World(tmp_path, pbx, slack)
    setup.start(**{**JSON_LOGS, **env})
    setup.seed_links()
    return setup


@pytest.fixture
def world(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> Iterator[World]:
    """The standard running bot, logging JSON; every line is checked when the test ends."""
    setup = started_world(tmp_path, pbx, slack)
    try:
        yield setup
    finally:
        setup.close()
        assert_json_lines(setup)


@pytest.fixture
def fixed_pbx() -> Iterator[FakePbx]:
    """A fake PBX on a fixed port, so it can be stopped and started again at the same URL."""
    fake = FakePbx(api_key=PBX_KEY, port=free_port()).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def cleanup() -> Iterator[list[World]]:
    """Worlds to stop after the test, whatever happens."""
    worlds: list[World] = []
    yield worlds
    for setup in worlds:
        setup.close()
        assert_json_lines(setup)


# --- the PBX ----------------------------------------------------------------------------------


def test_pbx_refusing_connections_is_explained_and_dialing_resumes(
    tmp_path: Path, fixed_pbx: FakePbx, slack: FakeSlack, cleanup: list[World]
) -> None:
    """A PBX that refuses connections: 'couldn't reach', logged as not sent; then back to normal."""
    world = started_world(tmp_path, fixed_pbx, slack)
    cleanup.append(world)
    assert_next_dial_is_normal(world, "405-555-0101", user="UALICE001")  # warms a keep-alive
    fixed_pbx.stop()

    _, ack, response_url = world.dial("580-867-5309", user="UBOB00001")
    assert "Calling" in ack["text"]
    final = world.final_reply(response_url, timeout=10)
    assert "couldn't reach the phone system" in final and "wasn't called" in final
    assert rows(world.db_path, "SELECT outcome, sent FROM calls WHERE user_id = 'UBOB00001'") == [
        ("unreachable", 0)
    ]

    fixed_pbx.start()
    assert_next_dial_is_normal(world, "580-867-5309", user="UBOB00001")


def test_pbx_hanging_past_the_timeout_is_not_retried(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack, cleanup: list[World]
) -> None:
    """WEBFONES_TIMEOUT=1 and a PBX that hangs 3 s: 'may still ring', one request, no retry."""
    world = started_world(tmp_path, pbx, slack, WEBFONES_TIMEOUT="1")
    cleanup.append(world)
    pbx.hang_next(3.0)
    _, ack, response_url = world.dial("580-867-5309")
    assert "Calling" in ack["text"]
    final = world.final_reply(response_url, timeout=10)
    assert pbx.calls == [], "the final reply waited for the hung PBX instead of timing out"
    assert "may still ring" in final
    assert pbx.requests == 1
    assert outcomes(world, "UALICE001") == ["timeout"]
    assert_next_dial_is_normal(world, "405-555-0102")
    assert pbx.requests == 2


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (502, HTML_PAGE, "had a problem"),
        (503, "Service Unavailable", "had a problem"),
        (500, b"\x00\xff not json at all", "had a problem"),
        (200, "OK!", "had a problem"),
    ],
    ids=["502-html", "503-text", "500-binary", "200-not-json"],
)
def test_pbx_answering_garbage_is_one_readable_sentence(
    world: World, status: int, body: str | bytes, expected: str
) -> None:
    """5xx pages and non-JSON bodies: one request, a plain sentence, no HTML; then normal."""
    world.pbx.fail_next(status, body)
    _, ack, response_url = world.dial("580-867-5309")
    assert "Calling" in ack["text"]
    final = world.final_reply(response_url)
    assert expected in final
    for leak in ("<html", "nginx", "Bad Gateway", "Traceback", "not json", PBX_KEY):
        assert leak not in final
    assert world.pbx.requests == 1
    assert outcomes(world, "UALICE001") == ["pbx_error"]
    assert_next_dial_is_normal(world, "405-555-0103")


def test_pbx_429_pauses_dialing_for_retry_after_then_resumes(world: World) -> None:
    """429 with Retry-After: 1 is not retried, holds the next dial unsent, then dialing resumes."""
    world.pbx.fail_next(429, {"error": "Too many requests"}, headers={"Retry-After": "1"})
    _, _, response_url = world.dial("580-867-5309")
    assert "try again in 1 second" in world.final_reply(response_url)
    world.idle()
    assert world.pbx.requests == 1

    _, ack, _ = world.dial("604-555-0143", user="UBOB00001")
    assert "asked me to slow down" in ack["text"]
    world.idle()
    assert world.pbx.requests == 1

    world.advance(1.0)  # the pause is over
    _, ack, response_url = world.dial("405-555-0104", user="UCAROL001")
    assert "Calling" in ack["text"], ack
    assert "ringing" in world.final_reply(response_url)
    assert world.pbx.requests == 2


# --- Slack's response_url ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 500])
def test_response_url_failure_is_logged_and_the_call_not_repeated(
    world: World, status: int
) -> None:
    """response_url answering 404/500: logged, no crash, exactly one PBX call; then normal."""
    world.slack.response_status = status
    _, ack, response_url = world.dial("580-867-5309")
    assert "Calling" in ack["text"]
    [post] = world.slack.wait_for_posts(response_url)
    assert "ringing" in post["text"]
    world.wait_logged("could not deliver a reply", timeout=5)
    assert str(status) in world.log.split("could not deliver a reply", 1)[1].splitlines()[0]
    world.idle()
    assert world.pbx.requests == 1
    assert outcomes(world, "UALICE001") == ["placed"]

    world.slack.response_status = 200
    assert_next_dial_is_normal(world, "405-555-0105")
    assert len(world.slack.posts_to(response_url)) == 1, "a failed reply was re-sent"


# --- the SQLite file --------------------------------------------------------------------------


def test_database_locked_by_another_writer(world: World) -> None:
    """A 3 s outside write lock: acks stay under 3 s and say so, nothing is half-written."""
    world.pbx.latency = 0.5
    _, ack, before_url = world.dial("405-555-0106", user="UBOB00001")  # finishes under the lock
    assert "Calling" in ack["text"]

    locker = sqlite3.connect(
        world.db_path, timeout=10, isolation_level=None, check_same_thread=False
    )
    locker.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release_later() -> None:
        time.sleep(3.0)
        locker.execute("ROLLBACK")
        locker.close()
        released.set()

    threading.Thread(target=release_later, daemon=True).start()
    link_url = world.slack.response_url()
    dial_url = world.slack.response_url()

    def post_signed(body: str) -> tuple[int, str, float]:
        return world.post_raw(body, signed_headers(body, SIGNING_SECRET))

    with ThreadPoolExecutor(max_workers=2) as pool:
        link = pool.submit(
            post_signed,
            slash_command_body(
                "/dial-link", "<@UNEW00001> 412", user_id="UADMIN001", response_url=link_url
            ),
        )
        dial = pool.submit(
            post_signed,
            slash_command_body("/dial", "580-867-5309", user_id="UALICE001", response_url=dial_url),
        )
        link_status, link_text, link_seconds = link.result()
        dial_status, dial_text, dial_seconds = dial.result()
    assert link_status == 200 and dial_status == 200
    assert link_seconds < 3.0 and dial_seconds < 3.0, (link_seconds, dial_seconds)
    assert LINKS_BUSY in link_text or "Linked <@UNEW00001> to extension 412" in link_text
    assert STORE_BUSY in dial_text or "Calling +1 580-867-5309" in dial_text
    assert released.wait(5)

    # The call placed before the lock finished and was recorded once the lock went.
    assert "ringing" in world.final_reply(before_url, timeout=10)
    assert outcomes(world, "UBOB00001") == ["placed"]
    # Whatever the acks said is exactly what the file holds.
    new_link = rows(world.db_path, "SELECT extension FROM links WHERE user_id = 'UNEW00001'")
    assert new_link == ([("412",)] if "Linked" in link_text else [])
    alice = outcomes(world, "UALICE001")
    world.idle()
    if STORE_BUSY in dial_text:
        assert alice == [] and not any(c.extension == "309" for c in world.pbx.calls)
    else:
        assert "ringing" in world.final_reply(dial_url) and alice == ["placed"]
    assert rows(world.db_path, "SELECT count(*) FROM calls WHERE outcome = 'pending'") == [(0,)]
    assert rows(world.db_path, "PRAGMA integrity_check") == [("ok",)]

    # After the lock: both commands work.
    world.pbx.latency = 0.0
    _, ack, _ = world.link("<@UNEW00001> 412")
    assert "412" in ack["text"] and "busy" not in ack["text"]
    assert_next_dial_is_normal(world, "580-867-5309", user="UALICE001")
