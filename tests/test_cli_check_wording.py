"""`check` says what an operator can act on: every bad setting, plain reasons, plain counts."""

from __future__ import annotations

from tests.botproc import free_port
from tests.test_cli_check import cli, env, line, pbx, slack  # noqa: F401 (fixtures)


def test_every_bad_setting_is_a_fail_line_of_its_own(env, pbx, slack, cli) -> None:  # noqa: F811
    env["WEBFONES_API_KEY"] = "REPLACE-ME"
    env["PORT"] = "0"
    env["WEBFONES_BASE_URL"] = pbx.url + "/dialer/call"
    ran = cli(["check"], env)
    assert ran.code == 1
    assert ran.out.splitlines() == [
        "FAIL settings: WEBFONES_API_KEY still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
        f"FAIL settings: WEBFONES_BASE_URL ends in /dialer/call: drop that path, the bot adds "
        f"/dialer/call itself ({pbx.url}).",
        "FAIL settings: PORT is '0': it should be a whole number from 1 to 65535.",
    ]
    assert pbx.requests == 0 and slack.api_calls == []


def test_a_refused_connection_is_called_that(env, cli) -> None:  # noqa: F811
    env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"
    env["WEBFONES_BASE_URL"] = f"http://127.0.0.1:{free_port()}"
    ran = cli(["check"], env)
    assert ran.code == 1
    assert line(ran.out, "FAIL SLACK_API_URL") == (
        f"FAIL SLACK_API_URL: could not reach Slack at {env['SLACK_API_URL']} (connection refused)"
    )
    assert line(ran.out, "FAIL WEBFONES_BASE_URL") == (
        f"FAIL WEBFONES_BASE_URL: cannot connect to {env['WEBFONES_BASE_URL']}: connection refused"
    )
    assert "Error" not in ran.out  # no exception class names


def test_the_link_count_is_in_plain_english(env, cli) -> None:  # noqa: F811
    ran = cli(["check"], env)
    assert line(ran.out, "ok   DIALER_DB:").endswith("(created, integrity ok, writable, 0 links)")
