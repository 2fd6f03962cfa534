"""Start-up in-process: a bad setting is one line naming it, and a healthy bot answers /healthz.

The same from a real process (exit status, nothing else printed): tests/e2e/test_startup.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.inproc.harness import World, start_up
from tests.workspace import BOT_TOKEN, PBX_KEY, SIGNING_SECRET

GOOD = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "WEBFONES_API_KEY": PBX_KEY,
}


@pytest.mark.parametrize(
    ("change", "starts"),
    [
        ({"WEBFONES_API_KEY": ""}, "webfones-dialer: WEBFONES_API_KEY"),
        (
            {"WEBFONES_API_KEY": "REPLACE-ME"},
            "webfones-dialer: WEBFONES_API_KEY still holds the placeholder",
        ),
        ({"DIALER_LOG_FORMAT": "xml"}, "webfones-dialer: DIALER_LOG_FORMAT is 'xml'"),
        ({"DIALER_LOG_LEVEL": "LOUD"}, "webfones-dialer: DIALER_LOG_LEVEL is 'LOUD'"),
    ],
    ids=["missing", "placeholder", "log-format", "log-level"],
)
def test_a_bad_setting_stops_start_up_naming_it_in_one_line(
    tmp_path: Path, monkeypatch, capsys, change: dict[str, str], starts: str
) -> None:
    env = {**GOOD, "DIALER_DB": str(tmp_path / "dialer.db"), **change}
    env = {name: value for name, value in env.items() if value}
    code, err = start_up(env, monkeypatch, capsys)
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith(starts), line
    if "placeholder" in starts:
        assert "fill in .env" in line
    assert not (tmp_path / "dialer.db").exists(), "nothing is opened before settings are good"


def test_health_check_answers_when_the_database_is_usable(world: World) -> None:
    status, content_type, text = world.get("/healthz")
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(text) == {"ok": True, "database": "ok"}
