"""`check`: one line per check, exit 1 on any failure, no call placed, no secret printed."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli.check import _probe_result
from bot.config import SettingsError, load_settings
from bot.pbx import ProbeAnswer
from bot.store import Store
from tests.botproc import ROOT, free_port
from tests.cliproc import InProcess, run_process
from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.test_store import no_room_to_write, read_only_connections, umask

BOT_TOKEN = "xoxb-S3KRIT-check-bot-8c1f"
APP_TOKEN = "xapp-1-A0S3KRIT9-1234567890-0123456789abcdef"
PBX_KEY = "pbx-S3KRIT-check-key-3e7b"
SIGNING_SECRET = "5ec2e75ec2e75ec2e75ec2e75ec2e7aa"


@pytest.fixture
def pbx() -> Iterator[FakePbx]:
    with FakePbx(api_key=PBX_KEY) as fake:
        yield fake


@pytest.fixture
def methods(pbx: FakePbx) -> list[str]:
    """The HTTP method of every request the fake PBX answers (the check must never POST)."""
    seen: list[str] = []
    answer = pbx._answer

    def recording(handler: Any, raw: bytes) -> Any:
        seen.append(handler.command)
        return answer(handler, raw)

    pbx._answer = recording  # type: ignore[method-assign]
    return seen


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as fake:
        yield fake


@pytest.fixture
def env(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "WEBFONES_API_KEY": PBX_KEY,
        "WEBFONES_BASE_URL": pbx.url,
        "WEBFONES_TIMEOUT": "5",
        "DIALER_DB": str(tmp_path / "dialer.db"),
    }


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


def assert_no_secret(text: str) -> None:
    """Nothing secret was printed (every other test secret contains S3KRIT)."""
    for secret in (BOT_TOKEN, APP_TOKEN, PBX_KEY, SIGNING_SECRET):
        assert secret not in text
    assert "S3KRIT" not in text


def line(out: str, start: str) -> str:
    """The one output line that starts with `start`."""
    found = [text for text in out.splitlines() if text.startswith(start)]
    assert len(found) == 1, out
    return found[0]


def test_as_a_process_good_settings_a_wrong_key_verbose_and_an_unedited_env_example(
    tmp_path, env, pbx, methods
) -> None:
    """`python -m bot check` three times: all good, --verbose with a wrong key, the .env.example."""
    ran = run_process(["check"], env)
    assert ran.code == 0, ran.text
    lines = ran.out.splitlines()
    assert lines[0] == f"ok   settings: HTTP mode, port 3000, DB {env['DIALER_DB']}"
    assert lines[1].startswith("ok   SLACK_SIGNING_SECRET: ")
    assert lines[2] == (
        "ok   SLACK_BOT_TOKEN: workspace 'Acme' (T0123ABCD), bot user 'dialer' (UBOT)"
    )
    assert lines[3].startswith(f"ok   PBX: {pbx.url} answers and accepts the key")
    assert lines[4] == (
        f"ok   DIALER_DB: {env['DIALER_DB']} (created, integrity ok, writable, 0 links)"
    )
    assert lines[5:] == ["all checks passed"]
    assert pbx.calls == [] and methods == ["GET"]
    assert_no_secret(ran.text)

    # --verbose logs are scrubbed.
    wrong = {**env, "WEBFONES_API_KEY": "pbx-S3KRIT-wrong-key"}
    ran = run_process(["check", "--verbose"], wrong)
    assert ran.code == 1
    assert "webfones probe outcome=key_rejected" in ran.err
    assert "pbx-S3KRIT-wrong-key" not in ran.text
    assert_no_secret(ran.text)
    assert pbx.calls == []

    # An unedited .env.example fails naming every placeholder at once.
    copy = tmp_path / ".env"
    copy.write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    ran = run_process(["check"], {"DIALER_ENV_FILE": str(copy)})
    assert ran.code == 1
    assert ran.out.splitlines() == [
        "FAIL settings: SLACK_BOT_TOKEN still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
        "FAIL settings: SLACK_SIGNING_SECRET still holds the placeholder from .env.example: "
        "fill in .env with the signing secret from Basic Information → App Credentials, which "
        "HTTP mode needs (or set SLACK_APP_TOKEN to use Socket Mode).",
        "FAIL settings: WEBFONES_API_KEY still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
    ]


def test_a_revoked_key_fails_naming_it_and_places_no_call(env, methods, cli) -> None:
    with FakePbx(api_key="the-new-key") as rotated:
        env["WEBFONES_BASE_URL"] = rotated.url
        ran = cli(["check"], env)
        assert ran.code == 1
        assert line(ran.out, "FAIL WEBFONES_API_KEY:").startswith(
            "FAIL WEBFONES_API_KEY: the PBX refused the key (403)"
        )
        line(ran.out, "ok   SLACK_BOT_TOKEN:")
        line(ran.out, "ok   DIALER_DB:")
        assert ran.out.splitlines()[-1] == "1 check(s) failed"
        assert rotated.calls == [] and rotated.requests == 1
        assert_no_secret(ran.text)

        ran = cli(["check"], env)
        assert ran.code == 1 and "FAIL WEBFONES_API_KEY: the PBX refused the key" in ran.out
        assert rotated.calls == []
        assert_no_secret(ran.text)


def test_an_unreachable_pbx_fails_naming_the_base_url(env, cli) -> None:
    env["WEBFONES_BASE_URL"] = f"http://127.0.0.1:{free_port()}"
    ran = cli(["check"], env)
    assert ran.code == 1
    assert line(ran.out, "FAIL ").startswith(
        f"FAIL WEBFONES_BASE_URL: cannot connect to {env['WEBFONES_BASE_URL']}"
    )
    assert_no_secret(ran.text)


def test_a_pbx_that_is_not_the_dialer_api_fails(env, cli) -> None:
    env["WEBFONES_BASE_URL"] = env["WEBFONES_BASE_URL"] + "/wrong"
    ran = cli(["check"], env)
    assert ran.code == 1
    assert "FAIL WEBFONES_BASE_URL: " in ran.out and "answered 404" in ran.out


def test_a_refused_bot_token_fails_naming_it(env, cli) -> None:
    env["SLACK_BOT_TOKEN"] = "xoxb-S3KRIT-revoked-0000"
    ran = cli(["check"], env)
    assert ran.code == 1
    assert line(ran.out, "FAIL ") == (
        "FAIL SLACK_BOT_TOKEN: Slack refused the token (invalid_auth): copy the Bot User OAuth "
        "Token (xoxb-…) again from OAuth & Permissions, reinstalling the app to the workspace "
        "if the token was revoked."
    )
    assert "xoxb-S3KRIT-revoked-0000" not in ran.text
    assert_no_secret(ran.text)


def test_an_unreachable_slack_fails_naming_the_api_url(env, cli) -> None:
    env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"
    ran = cli(["check"], env)
    assert ran.code == 1
    assert line(ran.out, "FAIL ").startswith("FAIL SLACK_API_URL: could not reach Slack at ")


def test_a_bad_setting_stops_after_one_line(env, pbx, slack, cli) -> None:
    del env["WEBFONES_API_KEY"]
    ran = cli(["check"], env)
    assert ran.code == 1
    assert ran.out.splitlines() == [
        "FAIL settings: WEBFONES_API_KEY is not set: it should be the key from your WebFones "
        "administrator."
    ]
    assert pbx.requests == 0 and slack.api_calls == []


def test_socket_mode_checks_the_app_token_without_opening_a_connection(env, slack, cli) -> None:
    env["SLACK_APP_TOKEN"] = APP_TOKEN
    ran = cli(["check"], env)
    assert ran.code == 0, ran.text
    assert ran.out.startswith(f"ok   settings: Socket Mode, DB {env['DIALER_DB']}\n")
    assert line(ran.out, "ok   SLACK_APP_TOKEN: shaped like an app-level token")
    assert slack.calls_to("apps.connections.open") == []
    assert_no_secret(ran.text)


def test_odd_looking_tokens_warn_but_pass(env, cli) -> None:
    env["SLACK_APP_TOKEN"] = "xapp-S3KRIT-odd"
    ran = cli(["check"], env)
    assert ran.code == 0, ran.text
    assert line(ran.out, "warn SLACK_APP_TOKEN: starts with xapp- but is not shaped like one")
    assert_no_secret(ran.text)
    del env["SLACK_APP_TOKEN"]
    env["SLACK_SIGNING_SECRET"] = "S3KRIT-not-hex"
    ran = cli(["check"], env)
    assert ran.code == 0 and line(ran.out, "warn SLACK_SIGNING_SECRET: not shaped like")
    assert_no_secret(ran.text)


def test_the_database_reports_links_and_fails_when_unusable(tmp_path, env, cli) -> None:
    store = Store(env["DIALER_DB"])
    store.links.set("UALICE001", "309", "UADMIN001")
    store.close()
    ran = cli(["check"], env)
    assert line(ran.out, "ok   DIALER_DB:") == (
        f"ok   DIALER_DB: {env['DIALER_DB']} (integrity ok, writable, 1 link)"
    )
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database file, just some text" * 100)
    env["DIALER_DB"] = str(garbage)
    ran = cli(["check"], env)
    assert ran.code == 1
    assert line(ran.out, "FAIL ").startswith(f"FAIL DIALER_DB: {garbage} cannot be used: ")


def test_a_placeholder_fails_with_the_bots_own_sentence(env, pbx, slack, cli) -> None:
    env["WEBFONES_API_KEY"] = "REPLACE-ME"
    with pytest.raises(SettingsError) as bot_says:
        load_settings(env)
    ran = cli(["check"], env)
    assert ran.code == 1
    assert ran.out.splitlines() == [f"FAIL settings: {bot_says.value}"]
    assert str(bot_says.value) == (
        "WEBFONES_API_KEY still holds the placeholder from .env.example: "
        "fill in .env with the real value."
    )
    assert pbx.requests == 0 and slack.api_calls == []


def test_a_rate_limited_probe_warns_without_failing(env, cli) -> None:
    with FakePbx(api_key=PBX_KEY, rate_limit=0) as limited:
        env["WEBFONES_BASE_URL"] = limited.url
        ran = cli(["check"], env)
        assert ran.code == 0, ran.text
        assert line(ran.out, "warn PBX:") == (
            f"warn PBX: {limited.url} is rate limiting this IP (429); the key was not refused"
        )
        assert limited.calls == []


def test_the_probe_answer_is_worded_from_its_fields(env, pbx, cli) -> None:
    ran = cli(["check"], env)
    probe = line(ran.out, "ok   PBX:")
    assert re.fullmatch(
        rf"ok   PBX: {re.escape(pbx.url)} answers and accepts the key "
        r"\(probe answered 405 in \d+ ms; no call placed\)",
        probe,
    ), probe
    settings = load_settings(env)
    url = settings.webfones_base_url
    worded = {
        ProbeAnswer(200, 7, key_accepted=True): (
            f"ok   PBX: {url} answers and accepts the key "
            "(probe answered 200 in 7 ms; no call placed)"
        ),
        ProbeAnswer(404, 7, key_accepted=False): (
            f"FAIL WEBFONES_BASE_URL: {url} answered 404: it is not the Dialer API"
        ),
        ProbeAnswer(
            503, 7, key_accepted=False
        ): f"FAIL PBX: {url} answered 503: the PBX is failing",
    }
    for answer, expected in worded.items():
        assert _probe_result(settings, answer).line() == expected


def test_a_read_only_database_fails_naming_it_even_though_it_reads(
    env, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running bot on a read-only file refuses every call: check must not say all is well."""
    store = Store(env["DIALER_DB"])
    store.links.set("UALICE001", "309", "UADMIN001")
    store.close()
    read_only_connections(monkeypatch)
    ran = cli(["check"], env)
    assert ran.code == 1, ran.out
    assert line(ran.out, "FAIL ") == (
        f"FAIL DIALER_DB: {env['DIALER_DB']} cannot be written: DIALER_DB is read-only "
        "(attempt to write a readonly database): check its permissions and the disk it is on"
    )
    assert ran.out.endswith("1 check(s) failed\n")


def test_a_disk_that_takes_no_more_fails_naming_the_database(env, cli) -> None:
    running = Store(env["DIALER_DB"])  # as the bot holds it open, its -wal and -shm there
    running.links.set("UALICE001", "309", "UADMIN001")
    with no_room_to_write():
        ran = cli(["check"], env)
    running.close()
    assert ran.code == 1, ran.out
    assert line(ran.out, "FAIL ").startswith(
        f"FAIL DIALER_DB: {env['DIALER_DB']} cannot be written: DIALER_DB can't be used "
        "(disk I/O error)"
    )


def test_a_database_others_may_read_is_a_warning_naming_each_file_and_the_fix(
    env, cli, tmp_path
) -> None:
    path = env["DIALER_DB"]
    with umask(0o022):
        ran = cli(["check"], env)  # creates it, private
        assert ran.code == 0 and "warn" not in ran.out, ran.out
        running = Store(path)  # as the bot holds it open, its -wal and -shm there
        running.links.set("UALICE001", "309", "UADMIN001")
        for name in (path, path + "-wal", path + "-shm"):
            os.chmod(name, 0o644)  # as an older version, or a copy, left them
        ran = cli(["check"], env)
        running.close()
    assert ran.code == 0, ran.out  # a warning, not a failure
    assert line(ran.out, "warn DIALER_DB:") == (
        f"warn DIALER_DB: other users may read or write {path} (0644), {path}-wal (0644), "
        f"{path}-shm (0644), which hold phone numbers and call history: "
        f"run `chmod 600 {path} {path}-wal {path}-shm`"
    )
    assert ran.out.endswith("all checks passed\n")
