"""DIALER_LOG_FORMAT=json and DIALER_LOG_LEVEL: every line a JSON object, no secret, no trace.

What the real process prints on stderr, one process per journey. A setting that is not a
choice: tests/e2e/test_startup.py and tests/inproc/test_startup.py.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.botproc import FAST_RETRIES, BotProcess, free_port
from tests.e2e.conftest import ADMIN, BOT_TOKEN, PBX_KEY, SIGNING_SECRET, World
from tests.e2e.socket_world import SocketWorld
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import app_home_opened_event, event_callback_body, post_signed
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

JSON_LOGS = {"DIALER_LOG_FORMAT": "json", **FAST_RETRIES}
FIELDS = {"time", "level", "logger", "message"}


def records(bot: BotProcess) -> list[dict[str, Any]]:
    """Every line the bot printed, each parsed as one JSON object (fails on any other line)."""
    parsed = []
    for line in bot.log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(record, dict) and record.keys() >= FIELDS, line
        parsed.append(record)
    return parsed


def assert_clean(bot: BotProcess, *secrets: str) -> list[dict[str, Any]]:
    """All lines JSON, none with a secret or a traceback; answer the records."""
    found = records(bot)
    for secret in (PBX_KEY, BOT_TOKEN, SIGNING_SECRET, *secrets):
        assert secret not in bot.log, "a secret reached the log"
    assert not any("exc_info" in record for record in found), "a traceback at INFO"
    assert "Traceback" not in bot.log
    return found


def wait_records(bot: BotProcess, predicate, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Poll until some record satisfies predicate; answer those that do."""
    deadline = time.monotonic() + timeout
    while True:
        hits = [r for r in records(bot) if predicate(r)]
        if hits or time.monotonic() > deadline:
            assert hits, bot.log
            return hits
        time.sleep(0.05)


def test_a_representative_run_prints_only_json_lines_without_secrets(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack
) -> None:
    """Dials, a PBX fault, refused requests, Home, SIGTERM: every line is a JSON object."""
    world = World(tmp_path, pbx, slack)
    world.extra_env.update(JSON_LOGS)
    bot = world.start()
    try:
        world.link_everyone()
        _, ack, response_url = world.dial("580-867-5309")
        assert "ringing" in world.final_reply(response_url)
        pbx.fail_next(502, "<html><body>502 Bad Gateway</body></html>")
        _, ack, response_url = world.dial("405-555-0101", user="UBOB00001")
        assert "had a problem" in world.final_reply(response_url)
        unsigned = urllib.request.Request(
            world.url, data=b'text=hi%0A{"level": "ERROR"}', method="POST"
        )
        try:
            urllib.request.urlopen(unsigned, timeout=5)
        except urllib.error.HTTPError as error:
            assert error.code == 401
        status, _, _ = post_signed(world.url, "payload=null", SIGNING_SECRET)
        assert status == 400
        slack.set_method_response("users.info", {"ok": False, "error": "ratelimited"}, status=429)
        status, ack, _ = world.link("<@UNEW00001> 412", user="UOWNER001")
        assert status == 200 and "412" not in ack["text"], ack
        status, _, _ = post_signed(
            world.url,
            event_callback_body(app_home_opened_event(ADMIN)),
            SIGNING_SECRET,
            content_type="application/json",
        )
        assert status == 200
        slack.wait_for_calls("views.publish")
        assert bot.proc is not None
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.wait_exit() == 0
    finally:
        world.stop()

    found = assert_clean(bot)
    dials = [r for r in found if r["message"].startswith("webfones dial")]
    assert [(r["extension"], r["phonenumber"], r["outcome"], r["status"]) for r in dials] == [
        ("309", "15808675309", "placed", 200),
        ("310", "14055550101", "pbx_error", 502),
    ]
    assert all(isinstance(r["latency_ms"], int) for r in dials)
    assert {r["level"] for r in dials} == {"INFO", "WARNING"}
    refused = [r for r in found if r["message"].startswith("refused a request")]
    assert len(refused) == 2 and all(r["logger"] == "bot.slack.http_server" for r in refused)
    assert any(r["message"].startswith("ready: HTTP") for r in found)
    assert found[-1]["message"] == "stopped"
    for record in found:  # ISO 8601 with the offset: what log shippers parse without help
        assert record["time"].endswith("+00:00") and "T" in record["time"], record


def test_slack_away_is_one_json_line_per_retry_in_either_mode(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack
) -> None:
    """Slack's API refusing connections: a WARNING JSON line per retry, waits growing.

    HTTP mode keeps serving meanwhile; Socket Mode connects once Slack is back.
    """
    away = f"http://127.0.0.1:{free_port()}/api/"
    world = World(tmp_path, pbx, slack)
    world.extra_env.update(JSON_LOGS, SLACK_API_URL=away)
    bot = world.start()
    try:
        world.link_everyone()
        _, _, response_url = world.dial("580-867-5309")
        assert "ringing" in world.final_reply(response_url)
        # 0.2 + 0.4 + 0.8 + 1 + …: several retries, up to the longest wait
        wait_records(bot, lambda r: r["message"].endswith("next try in 1s"), timeout=10)
    finally:
        world.stop()
    found = assert_clean(bot)
    retries = [r for r in found if "could not reach Slack" in r["message"]]
    assert len(retries) >= 4, bot.log
    assert all(r["level"] == "WARNING" and "next try in" in r["message"] for r in retries)
    assert retries[-1]["message"].endswith("next try in 1s")

    with FakeSocketMode() as socket:
        away_slack = FakeSlack(bot_token=BOT_TOKEN, port=free_port())
        socket_world = SocketWorld(tmp_path, pbx, away_slack, socket)
        socket_world.extra_env.update(JSON_LOGS)
        bot = BotProcess(socket_world.env).start(wait_ready=False)
        socket_world.bot = bot
        try:
            wait_records(
                bot,
                lambda r: (
                    "could not connect to Slack's Socket Mode" in r["message"]
                    and r["message"].endswith("next try in 0.8s")
                ),
                timeout=20,
            )
            away_slack.start()
            socket.wait_connected(timeout=5)
            wait_records(bot, lambda r: r["message"] == "ready: Socket Mode")
        finally:
            socket_world.stop()
            away_slack.stop()
    found = assert_clean(bot, away_slack.app_token)
    sockets = [r for r in found if "could not connect to Slack's Socket Mode" in r["message"]]
    assert len(sockets) >= 3 and all("next try in" in r["message"] for r in sockets)


def test_log_level_warning_keeps_info_lines_out(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack
) -> None:
    """DIALER_LOG_LEVEL=WARNING: a placed call logs nothing; a PBX failure still does."""
    world = World(tmp_path, pbx, slack)
    world.extra_env.update(JSON_LOGS, DIALER_LOG_LEVEL="warning")
    bot = BotProcess(world.env).start(wait_ready=False)
    world.bot = bot
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{world.port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, bot.log
                time.sleep(0.1)
        world.link_everyone()
        _, _, response_url = world.dial("580-867-5309")
        assert "ringing" in world.final_reply(response_url)
        pbx.fail_next(503, "Service Unavailable")
        _, _, response_url = world.dial("405-555-0101", user="UBOB00001")
        assert "had a problem" in world.final_reply(response_url)
        wait_records(bot, lambda r: r.get("outcome") == "pbx_error")
    finally:
        world.stop()
    found = assert_clean(bot)
    assert found and all(r["level"] in ("WARNING", "ERROR") for r in found), bot.log
