"""The process killed or stopped mid-burst never loses, repeats or garbles a call.

The rest of the fault suite (PBX, Slack, database) runs in-process: tests/inproc/test_faults.py.
"""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import threading
import urllib.error
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.conftest import BOT_TOKEN, PBX_KEY, SIGNING_SECRET, World
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import post_signed, slash_command_body
from tests.fakes.slack import FakeSlack
from tests.waiting import wait_until
from tests.workspace import seed_links

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
    assert world.bot is not None and world.bot.proc is not None
    assert world.bot.proc.poll() is None, "the bot died"


#: Every fault here runs with JSON logs, and every line the bot prints must parse: an operator
#: shipping them to a log store must never get a half-line, a traceback or a raw newline.
JSON_LOGS = {"DIALER_LOG_FORMAT": "json"}


def assert_json_lines(setup: World) -> None:
    """Every line the bot printed is one JSON object with the standard fields, and no secret."""
    if setup.bot is None:
        return
    for line in setup.bot.log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
        assert isinstance(record, dict), line
        assert record.keys() >= {"time", "level", "logger", "message"}, line
    assert PBX_KEY not in setup.bot.log, "the PBX key leaked into the log"
    assert BOT_TOKEN not in setup.bot.log, "the bot token leaked into the log"


def started_world(tmp_path: Path, pbx: FakePbx, slack: FakeSlack, **env: str) -> World:
    """A World with extra settings (and JSON logs), started, the standard users linked."""
    setup = World(tmp_path, pbx, slack)
    seed_links(setup.db_path)
    setup.start(**{**JSON_LOGS, **env})
    return setup


@pytest.fixture
def world(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> Iterator[World]:
    """The standard running bot, logging JSON; every line is checked when the test ends."""
    setup = started_world(tmp_path, pbx, slack)
    try:
        yield setup
    finally:
        setup.stop()
        assert_json_lines(setup)


# --- the process ------------------------------------------------------------------------------


def _fire(world: World, command: str, text: str, user: str) -> tuple[str, str, str, str] | None:
    """Send one signed command; answer (command, text, user, ack text), or None if it failed."""
    body = slash_command_body(command, text, user_id=user, response_url=world.slack.response_url())
    try:
        status, reply, _ = post_signed(world.url, body, SIGNING_SECRET, timeout=5)
    except (OSError, http.client.HTTPException):  # URLError and resets are OSErrors
        return None
    return (command, text, user, reply) if status == 200 else None


def test_sigkill_mid_burst_keeps_every_acked_write(world: World) -> None:
    """SIGKILL during concurrent /dial-link and /dial: every 'Linked' ack and 'Calling' survive."""
    assert world.bot is not None
    world.pbx.latency = 0.3
    jobs: list[tuple[str, str, str]] = []
    for n in range(120):
        jobs.append(("/dial-link", f"<@UBURST{n:03d}> {5000 + n}", "UADMIN001"))
        if n % 3 == 0:
            user = ("UALICE001", "UBOB00001")[n % 2]
            jobs.append(("/dial", f"405-555-{1000 + n:04d}", user))
    acked = 0
    lock = threading.Lock()

    def fire(job: tuple[str, str, str]) -> tuple[str, str, str, str] | None:
        nonlocal acked
        result = _fire(world, *job)
        if result is not None:
            with lock:
                acked += 1
        return result

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(fire, job) for job in jobs]
        wait_until(lambda: acked >= 30, timeout=10, what="30 requests acked before the kill")
        world.bot.kill()
        results = [f.result() for f in futures]
    answered = [r for r in results if r is not None]
    assert 30 <= len(answered) < len(jobs), "the kill did not land mid-burst"

    world.start()  # same DB, same port
    linked = {
        text.split()[0][2:-1]: text.split()[1]
        for command, text, _, reply in answered
        if command == "/dial-link" and "Linked" in reply
    }
    assert linked, answered
    stored = dict(rows(world.db_path, "SELECT user_id, extension FROM links"))
    for user, extension in linked.items():
        assert stored.get(user) == extension, f"{user} was acked 'Linked' but is not stored"
    logged = set(rows(world.db_path, "SELECT user_id, destination FROM calls"))
    for command, text, user, reply in answered:
        if command == "/dial" and "Calling" in reply:
            destination = "+1" + "".join(ch for ch in text if ch.isdigit())
            assert (user, destination) in logged, f"acked dial {text} by {user} not in the log"
    assert rows(world.db_path, "PRAGMA integrity_check") == [("ok",)]
    assert "Linked" in world.link("<@UAFTER001> 6001")[1]["text"]
    assert_next_dial_is_normal(world, "580-867-5309")


def test_sigterm_finishes_calls_in_flight_then_exits_zero_and_a_restart_serves(
    world: World,
) -> None:
    """SIGTERM mid-call, twice: dials against a 2 s PBX, then a shortcut still announcing.

    Each time intake stops, every call completes and is answered, and the exit status is 0.
    """
    assert world.bot is not None and world.bot.proc is not None
    world.pbx.latency = 2.0
    dialers = [
        ("UALICE001", "580-867-5309"),
        ("UBOB00001", "405-555-0107"),
        ("UCAROL001", "604-555-0143"),
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda d: world.dial(d[1], user=d[0]), dialers))
    assert all("Calling" in ack["text"] for _, ack, _ in results)
    assert world.pbx.calls == [] and not any(world.slack.posts_to(url) for _, _, url in results)

    world.bot.proc.send_signal(signal.SIGTERM)
    world.bot.wait_for("stopping", timeout=5)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        post_signed(
            world.url,
            slash_command_body(
                "/dial",
                "405-555-0108",
                user_id="UALICE001",
                response_url=world.slack.response_url(),
            ),
            SIGNING_SECRET,
            timeout=2,
        )
    assert world.bot.wait_exit(timeout=15) == 0
    # Every final reply was posted before the process went away.
    for _, _, url in results:
        posts = world.slack.posts_to(url)
        assert len(posts) == 1 and "ringing" in posts[0]["text"], posts
    assert sorted(c.extension for c in world.pbx.calls) == ["309", "310", "311"]
    assert rows(world.db_path, "SELECT DISTINCT outcome FROM calls") == [("placed",)]
    assert "stopped" in world.bot.log
    assert_json_lines(world)

    world.start()
    world.pbx.latency = 0.0
    assert_next_dial_is_normal(world, "405-555-0109")

    # SIGTERM while a shortcut's 'Calling…' is being posted: the call is still placed, answered.
    assert world.bot is not None and world.bot.proc is not None
    world.pbx.reset()
    world.slack.response_delay = 1.0  # Slack is slow to take the first reply
    status, response_url = world.shortcut(
        "call me at <tel:+15808675309|+1 580-867-5309>", user="UBOB00001"
    )
    assert status == 200
    # Once the slot is reserved, the announcement is on its way (slowly).
    wait_until(
        lambda: outcomes(world, "UBOB00001")[1:], what="the shortcut's call slot to be reserved"
    )
    assert outcomes(world, "UBOB00001") == ["placed", "pending"]
    assert world.pbx.requests == 0

    world.bot.proc.send_signal(signal.SIGTERM)
    assert world.bot.wait_exit(timeout=15) == 0
    texts = [post["text"] for post in world.slack.posts_to(response_url)]
    assert len(texts) == 2 and "Calling" in texts[0] and "ringing" in texts[1], texts
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("310", "15808675309")]
    assert outcomes(world, "UBOB00001") == ["placed", "placed"]
