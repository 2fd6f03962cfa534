"""The fault suite: a failing PBX, Slack, database or process never loses, repeats or garbles."""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import threading
import time
import urllib.error
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from tests.botproc import free_port
from tests.e2e.conftest import BOT_TOKEN, PBX_KEY, SIGNING_SECRET, World
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import post_signed, slash_command_body
from tests.fakes.slack import FakeSlack
from tests.waiting import wait_until
from tests.workspace import seed_links

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
        setup.stop()
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
    assert world.pbx.requests == 1

    _, ack, _ = world.dial("604-555-0143", user="UBOB00001")
    assert "asked me to slow down" in ack["text"]
    assert world.pbx.requests == 1

    deadline = time.monotonic() + 5
    while True:  # the cooldown is 1 s; poll for its end rather than sleeping a fixed time
        _, ack, response_url = world.dial("405-555-0104", user="UCAROL001")
        if "Calling" in ack["text"] or time.monotonic() > deadline:
            break
        assert "slow down" in ack["text"]
        time.sleep(0.2)
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
    assert world.bot is not None
    world.bot.wait_for("could not deliver a reply", timeout=5)
    assert str(status) in world.bot.log.split("could not deliver a reply", 1)[1].splitlines()[0]
    assert world.pbx.requests == 1
    assert outcomes(world, "UALICE001") == ["placed"]
    assert world.bot.proc is not None and world.bot.proc.poll() is None

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
    with ThreadPoolExecutor(max_workers=2) as pool:
        link = pool.submit(
            post_signed,
            world.url,
            slash_command_body(
                "/dial-link", "<@UNEW00001> 412", user_id="UADMIN001", response_url=link_url
            ),
            SIGNING_SECRET,
        )
        dial = pool.submit(
            post_signed,
            world.url,
            slash_command_body("/dial", "580-867-5309", user_id="UALICE001", response_url=dial_url),
            SIGNING_SECRET,
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


def test_sigterm_finishes_dials_in_flight_then_exits_zero(world: World) -> None:
    """SIGTERM with dials against a 2 s PBX: intake stops, every call completes and is answered."""
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

    world.start()
    world.pbx.latency = 0.0
    assert_next_dial_is_normal(world, "405-555-0109")


def test_sigterm_before_a_shortcut_reaches_the_pbx_still_places_and_answers(world: World) -> None:
    """SIGTERM while a shortcut's 'Calling…' is being posted: the call is still placed, answered."""
    assert world.bot is not None and world.bot.proc is not None
    world.link("", user="UALICE001")  # Bolt asks auth.test on its first request: not slowed here
    world.slack.response_delay = 1.0  # Slack is slow to take the first reply
    status, response_url = world.shortcut("call me at <tel:+15808675309|+1 580-867-5309>")
    assert status == 200
    # Once the slot is reserved, the announcement is on its way (slowly).
    wait_until(lambda: outcomes(world, "UALICE001"), what="the call slot to be reserved")
    assert outcomes(world, "UALICE001") == ["pending"]
    assert world.pbx.requests == 0

    world.bot.proc.send_signal(signal.SIGTERM)
    assert world.bot.wait_exit(timeout=15) == 0
    texts = [post["text"] for post in world.slack.posts_to(response_url)]
    assert len(texts) == 2 and "Calling" in texts[0] and "ringing" in texts[1], texts
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]
    assert outcomes(world, "UALICE001") == ["placed"]
