"""Start-up: one clear line for a bad setting; the contract's settings serve."""

from __future__ import annotations

import json
import urllib.request

from tests.botproc import ROOT, BotProcess
from tests.e2e.conftest import BOT_TOKEN, World


def test_missing_setting_is_named_in_one_line(tmp_path) -> None:
    bot = BotProcess({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s"}).start(
        wait_ready=False
    )
    assert bot.wait_exit() == 2
    lines = bot.log.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("webfones-dialer: WEBFONES_API_KEY")
    assert "Traceback" not in bot.log


def test_an_unedited_env_example_stops_start_up_naming_the_placeholder(tmp_path) -> None:
    copy = tmp_path / ".env"
    copy.write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    bot = BotProcess({"DIALER_ENV_FILE": str(copy)}).start(wait_ready=False)
    assert bot.wait_exit() == 2
    assert bot.log.splitlines() == [
        "webfones-dialer: SLACK_BOT_TOKEN still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
        "webfones-dialer: SLACK_SIGNING_SECRET still holds the placeholder from .env.example: "
        "fill in .env with the signing secret from Basic Information → App Credentials, which "
        "HTTP mode needs (or set SLACK_APP_TOKEN to use Socket Mode).",
        "webfones-dialer: WEBFONES_API_KEY still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
    ]


def test_a_placeholder_left_in_the_environment_is_named(tmp_path) -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "WEBFONES_API_KEY": "REPLACE-ME",
    }
    bot = BotProcess(env).start(wait_ready=False)
    assert bot.wait_exit() == 2
    [line] = bot.log.splitlines()
    assert line.startswith("webfones-dialer: WEBFONES_API_KEY still holds the placeholder")
    assert "fill in .env" in line


def test_refused_bot_token_stops_start_up_clearly(tmp_path, pbx, slack) -> None:
    setup = World(tmp_path, pbx, slack)
    setup.extra_env["SLACK_BOT_TOKEN"] = "xoxb-revoked-token-0000"
    bot = BotProcess(setup.env).start(wait_ready=False)
    assert bot.wait_exit() == 2
    assert "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in bot.log
    assert "xoxb-revoked-token-0000" not in bot.log


def test_health_check_answers_when_the_database_is_usable(world: World) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{world.port}/healthz", timeout=5) as answer:
        assert answer.status == 200
        assert json.loads(answer.read()) == {"ok": True, "database": "ok"}
