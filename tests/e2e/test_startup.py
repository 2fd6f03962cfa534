"""Start-up as a real process: a bad setting, or Slack or the OS refusing, is one line and exit 2.

Each test starts several processes (each stops at once); what the settings mean, and a healthy
start-up's /healthz, are tested in-process (tests/test_config.py, tests/inproc/test_startup.py).
"""

from __future__ import annotations

import socket
from pathlib import Path

from tests.botproc import ROOT, BotProcess
from tests.e2e.conftest import World
from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.workspace import BOT_TOKEN, PBX_KEY, SIGNING_SECRET


def stopped_with(env: dict[str, str]) -> BotProcess:
    """Start the bot with these settings and wait for it to exit 2."""
    bot = BotProcess(env).start(wait_ready=False)
    try:
        assert bot.wait_exit(timeout=15) == 2, bot.log
    finally:
        bot.kill()
    assert "Traceback" not in bot.log and "ready:" not in bot.log, bot.log
    return bot


def test_a_missing_or_unedited_setting_is_named_in_one_line(tmp_path: Path) -> None:
    bot = stopped_with({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s"})
    lines = bot.log.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("webfones-dialer: WEBFONES_API_KEY")

    copy = tmp_path / ".env"
    copy.write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    bot = stopped_with({"DIALER_ENV_FILE": str(copy)})
    assert bot.log.splitlines() == [
        "webfones-dialer: SLACK_BOT_TOKEN still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
        "webfones-dialer: SLACK_SIGNING_SECRET still holds the placeholder from .env.example: "
        "fill in .env with the signing secret from Basic Information → App Credentials, which "
        "HTTP mode needs (or set SLACK_APP_TOKEN to use Socket Mode).",
        "webfones-dialer: WEBFONES_API_KEY still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
    ]

    bot = stopped_with(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "WEBFONES_API_KEY": PBX_KEY,
            "DIALER_DB": str(tmp_path / "dialer.db"),
            "DIALER_LOG_FORMAT": "xml",
        }
    )
    [line] = bot.log.strip().splitlines()
    assert line.startswith("webfones-dialer: DIALER_LOG_FORMAT is 'xml'"), line


def test_tokens_slack_refuses_or_a_port_in_use_stop_start_up_in_one_line(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack
) -> None:
    # HTTP mode: a bot token Slack refuses.
    setup = World(tmp_path, pbx, slack)
    setup.extra_env["SLACK_BOT_TOKEN"] = "xoxb-revoked-token-0000"
    bot = stopped_with(setup.env)
    assert "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in bot.log
    assert "xoxb-revoked-token-0000" not in bot.log

    socket_mode = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.api_url,
        "WEBFONES_API_KEY": PBX_KEY,
        "WEBFONES_BASE_URL": pbx.url,
        "DIALER_DB": str(tmp_path / "dialer.db"),
    }
    # Socket Mode: an xapp- token Slack refuses; no WebSocket is ever opened.
    with FakeSocketMode() as fake_socket:
        slack.socket_mode_url = fake_socket.url
        bot = stopped_with({**socket_mode, "SLACK_APP_TOKEN": "xapp-revoked-token-0000"})
        assert "SLACK_APP_TOKEN was refused by Slack (invalid_auth)" in bot.log
        assert "xapp-revoked-token-0000" not in bot.log
        assert fake_socket.connections == 0

    # Socket Mode: DIALER_METRICS_PORT already taken.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = stopped_with({**socket_mode, "DIALER_METRICS_PORT": str(port)})
    [line] = [line for line in bot.log.splitlines() if line.startswith("webfones-dialer:")]
    assert line.startswith(f"webfones-dialer: DIALER_METRICS_PORT {port} cannot be used")
