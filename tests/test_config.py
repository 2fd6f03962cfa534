"""Settings: defaults, validation, and secrets kept out of repr()."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.config import (
    BY_NAME,
    SECRET_NAMES,
    SETTINGS,
    Rate,
    Settings,
    SettingsError,
    is_placeholder,
    load_settings,
    token_refused,
)
from bot.domain.backoff import Backoff

BASE = {
    "SLACK_BOT_TOKEN": "xoxb-1234-abcd",
    "SLACK_SIGNING_SECRET": "shh-secret",
    "WEBFONES_API_KEY": "pbx-secret-key",
}


def test_defaults_follow_the_contract() -> None:
    settings = load_settings(BASE)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.webfones_base_url == "https://api.webfones.com:2343"
    assert settings.db_path == "dialer.db"
    assert settings.default_region == "US"
    assert settings.allowed_regions == {"US", "CA"}
    assert settings.user_rate == Rate(10, 60)
    assert settings.pbx_rate == Rate(1000, 900)
    assert settings.port == 3000
    assert settings.log_days == 90
    assert settings.slack_retry == Backoff(1, 60)
    assert not settings.socket_mode


def test_overrides_are_read() -> None:
    settings = load_settings(
        {
            **BASE,
            "SLACK_APP_TOKEN": "xapp-1-abcd",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "WEBFONES_BASE_URL": "http://127.0.0.1:8/",
            "DIALER_ADMINS": "U0123ABCD, W0456EFGH",
            "DIALER_ALLOWED_REGIONS": "us,ca,gb",
            "DIALER_USER_RATE": "3/30",
            "DIALER_PBX_RATE": "20/900",
            "PORT": "8080",
        }
    )
    assert settings.socket_mode
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.webfones_base_url == "http://127.0.0.1:8"
    assert settings.admins == {"U0123ABCD", "W0456EFGH"}
    assert settings.allowed_regions == {"US", "CA", "GB"}
    assert settings.user_rate == Rate(3, 30)
    assert settings.pbx_rate == Rate(20, 900)
    assert settings.port == 8080


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xapp-wrong-kind"}, "SLACK_BOT_TOKEN"),
        ({"WEBFONES_API_KEY": ""}, "WEBFONES_API_KEY"),
        ({"WEBFONES_API_KEY": "two words"}, "WEBFONES_API_KEY"),
        ({"WEBFONES_API_KEY": "clé-secrète"}, "WEBFONES_API_KEY"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xoxb-not-app"}, "SLACK_APP_TOKEN"),
        ({"WEBFONES_BASE_URL": "api.webfones.com"}, "WEBFONES_BASE_URL"),
        ({"DIALER_USER_RATE": "ten a minute"}, "DIALER_USER_RATE"),
        ({"DIALER_PBX_RATE": "0/900"}, "DIALER_PBX_RATE"),
        ({"DIALER_ALLOWED_REGIONS": "US,XX"}, "DIALER_ALLOWED_REGIONS"),
        ({"DIALER_DEFAULT_REGION": "USA"}, "DIALER_DEFAULT_REGION"),
        ({"DIALER_ADMINS": "alice"}, "DIALER_ADMINS"),
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DIALER_SLACK_RETRY": "fast"}, "DIALER_SLACK_RETRY"),
    ],
)
def test_bad_setting_is_named(change: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, **change})
    assert str(caught.value).startswith(named)


def test_slack_retry_doubles_from_its_first_wait_to_its_longest() -> None:
    waits = load_settings(BASE).slack_retry.waits()
    assert [next(waits) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    short = load_settings({**BASE, "DIALER_SLACK_RETRY": " 0.2 , 1 "}).slack_retry
    assert short == Backoff(0.2, 1)
    waits = short.waits()
    assert [next(waits) for _ in range(5)] == [0.2, 0.4, 0.8, 1, 1]
    assert load_settings({**BASE, "DIALER_SLACK_RETRY": "5,5"}).slack_retry == Backoff(5, 5)


@pytest.mark.parametrize("junk", ["fast", "1", "1,2,3", "5,1", "0,1", "-1,3", "1,3601", "1;60"])
def test_a_malformed_slack_retry_is_refused_in_one_sentence(junk: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "DIALER_SLACK_RETRY": junk})
    assert str(caught.value) == (
        f"DIALER_SLACK_RETRY is {junk!r}: it should be FIRST,LONGEST in seconds, like 1,60: "
        "a first wait above 0, and a longest no shorter than it and at most 3600."
    )


def test_socket_mode_does_not_need_a_signing_secret() -> None:
    env = {**BASE, "SLACK_SIGNING_SECRET": "", "SLACK_APP_TOKEN": "xapp-1-abcd"}
    assert load_settings(env).socket_mode


def test_secrets_stay_out_of_repr() -> None:
    settings = load_settings({**BASE, "SLACK_APP_TOKEN": "xapp-1-abcd"})
    text = repr(settings)
    for secret in ("xoxb-1234-abcd", "shh-secret", "pbx-secret-key", "xapp-1-abcd"):
        assert secret not in text
    assert set(settings.secrets) == {
        "xoxb-1234-abcd",
        "shh-secret",
        "pbx-secret-key",
        "xapp-1-abcd",
    }


# --- the table ------------------------------------------------------------------------------

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"
#: `NAME=value` lines of .env.example, commented out (`# NAME=value`) or not.
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def example_lines() -> list[tuple[bool, str, str]]:
    """(commented out, name, value) for every assignment line in .env.example."""
    found = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            found.append((bool(match[1]), match[2], match[3].strip()))
    return found


def test_the_table_fills_every_settings_field_once() -> None:
    attrs = [setting.attr for setting in SETTINGS]
    assert attrs == [f.name for f in fields(Settings)]  # in declaration order
    assert len({setting.name for setting in SETTINGS}) == len(SETTINGS)
    for setting in SETTINGS:
        assert setting.help and setting.should, setting.name
        assert setting.default is None or isinstance(setting.default, str)
        if setting.required:
            assert setting.default is None, setting.name


def test_settings_defaults_are_the_tables() -> None:
    settings = load_settings(BASE)
    for setting in SETTINGS:
        if setting.default is not None:
            assert getattr(settings, setting.attr) == setting.parse(setting.default)


def test_secret_names_are_the_secret_rows_and_match_settings_secrets() -> None:
    assert set(SECRET_NAMES) == {
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "WEBFONES_API_KEY",
        "DIALER_DATABASE_URL",  # it may hold the database's password
    }
    from bot.__main__ import SECRET_VARIABLES

    assert SECRET_VARIABLES == SECRET_NAMES


def test_contract_settings_for_logs_and_metrics() -> None:
    settings = load_settings(BASE)
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    assert (settings.metrics_port, settings.metrics_host) == (None, "127.0.0.1")
    settings = load_settings(
        {
            **BASE,
            "DIALER_LOG_LEVEL": "debug",
            "DIALER_LOG_FORMAT": "JSON",
            "DIALER_METRICS_PORT": "9100",
            "DIALER_METRICS_HOST": "0.0.0.0",
        }
    )
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")
    assert (settings.metrics_port, settings.metrics_host) == (9100, "0.0.0.0")


@pytest.mark.parametrize(
    ("name", "value", "sentence"),
    [
        (
            "DIALER_LOG_LEVEL",
            "loud",
            "DIALER_LOG_LEVEL is 'loud': it should be one of DEBUG, INFO, WARNING, ERROR.",
        ),
        ("DIALER_LOG_FORMAT", "xml", "DIALER_LOG_FORMAT is 'xml': it should be text or json."),
        (
            "DIALER_METRICS_PORT",
            "0",
            "DIALER_METRICS_PORT is '0': it should be a whole number from 1 to 65535.",
        ),
        (
            "DIALER_METRICS_HOST",
            "local host",
            "DIALER_METRICS_HOST is 'local host': it should be an address to listen on, "
            "like 127.0.0.1 or 0.0.0.0.",
        ),
        (
            "SLACK_BOT_TOKEN",
            "xoxp-user-token",
            "SLACK_BOT_TOKEN does not look right: it should be the bot token from "
            "OAuth & Permissions (xoxb-…).",
        ),
        (
            "WEBFONES_TIMEOUT",
            "121",
            "WEBFONES_TIMEOUT is '121': it should be a whole number from 1 to 120.",
        ),
    ],
)
def test_each_refusal_is_one_sentence_naming_the_setting(
    name: str, value: str, sentence: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, name: value})
    assert str(caught.value) == sentence


# --- placeholders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-REPLACE-ME"),
        ("WEBFONES_API_KEY", "REPLACE-ME"),
        ("SLACK_SIGNING_SECRET", "replace-me"),
        ("SLACK_APP_TOKEN", "xapp-REPLACE-ME"),
        ("DIALER_ADMINS", "REPLACE-ME"),
    ],
)
def test_a_placeholder_stops_loading_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, name: value})
    message = str(caught.value)
    assert message.startswith(f"{name} still holds the placeholder from .env.example: ")
    assert "fill in .env" in message
    assert value not in message  # a placeholder sits where a secret goes: never echoed
    assert is_placeholder(value)


def test_an_unedited_env_example_is_refused_naming_every_placeholder_at_once() -> None:
    env = {k: v for k, v in dotenv_values(ENV_EXAMPLE).items() if v is not None}
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert caught.value.problems == (
        "SLACK_BOT_TOKEN still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
        "SLACK_SIGNING_SECRET still holds the placeholder from .env.example: fill in .env with "
        "the signing secret from Basic Information → App Credentials, which HTTP mode needs "
        "(or set SLACK_APP_TOKEN to use Socket Mode).",
        "WEBFONES_API_KEY still holds the placeholder from .env.example: "
        "fill in .env with the real value.",
    )
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_env_example_ships_only_placeholders_and_http_mode() -> None:
    live = {name: value for commented, name, value in example_lines() if not commented}
    assert set(live) == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "WEBFONES_API_KEY"}
    assert all(is_placeholder(value) for value in live.values())
    filled = dict.fromkeys(live, "filled-in-value") | {"SLACK_BOT_TOKEN": "xoxb-1234-abcd"}
    assert not load_settings(filled).socket_mode


def test_env_example_lists_every_setting_with_its_default() -> None:
    lines = example_lines()
    listed = [name for _, name, _ in lines]
    assert sorted(listed) == sorted(setting.name for setting in SETTINGS)
    for commented, name, value in lines:
        default = BY_NAME[name].default
        if commented and default is not None and not is_placeholder(value):
            assert value == default, name


# --- a first start: every problem at once, each mode's own settings ---------------------------


def test_every_bad_setting_is_reported_at_once_each_on_its_own_line() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxp-wrong-kind",
        "WEBFONES_API_KEY": "has a space",
        "PORT": "http",
        "DIALER_DEFAULT_REGION": "XX",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    named = [problem.split(" ", 1)[0] for problem in caught.value.problems]
    assert named == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "WEBFONES_API_KEY",
        "DIALER_DEFAULT_REGION",
        "PORT",
    ]
    assert str(caught.value).splitlines() == list(caught.value.problems)


def test_socket_mode_ignores_the_signing_secret_placeholder_left_in_env() -> None:
    env = dotenv_values(ENV_EXAMPLE)  # README step 3, Socket Mode: fill in three lines
    env = {k: v for k, v in env.items() if v is not None}
    env |= {"SLACK_BOT_TOKEN": "xoxb-1234-abcd", "WEBFONES_API_KEY": "pbx-secret-key"}
    env["SLACK_APP_TOKEN"] = "xapp-1-A0123-4567-abcdef"
    settings = load_settings(env)
    assert settings.socket_mode and settings.slack_signing_secret is None


def test_http_mode_says_what_the_signing_secret_is_whether_unset_or_a_placeholder() -> None:
    for value in ("", "REPLACE-ME"):
        with pytest.raises(SettingsError) as caught:
            load_settings({**BASE, "SLACK_SIGNING_SECRET": value})
        [problem] = caught.value.problems
        assert problem.startswith("SLACK_SIGNING_SECRET ")
        assert "Basic Information → App Credentials" in problem
        assert "delete the line" not in problem  # deleting it would only give another error


@pytest.mark.parametrize(
    "value",
    [
        "https://pbx.example.com:2343/dialer/call",
        "https://pbx.example.com:2343/dialer/call/",
        "https://pbx.example.com:2343/dailer/call",
    ],
)
def test_a_pbx_base_url_with_the_endpoint_path_is_refused_saying_to_drop_it(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "WEBFONES_BASE_URL": value})
    [problem] = caught.value.problems
    assert problem.startswith("WEBFONES_BASE_URL ends in /")
    assert "drop that path" in problem and "(https://pbx.example.com:2343)" in problem
    prefixed = load_settings({**BASE, "WEBFONES_BASE_URL": "https://proxy.example.com/webfones"})
    assert prefixed.webfones_base_url == "https://proxy.example.com/webfones"


def test_http_serving_settings() -> None:
    settings = load_settings(BASE)
    assert (settings.http_host, settings.max_connections) == ("0.0.0.0", None)
    settings = load_settings({**BASE, "DIALER_HOST": "127.0.0.1", "DIALER_MAX_CONNECTIONS": "500"})
    assert (settings.http_host, settings.max_connections) == ("127.0.0.1", 500)
    with pytest.raises(SettingsError, match="DIALER_METRICS_PORT is 3000, the same as PORT"):
        load_settings({**BASE, "DIALER_METRICS_PORT": "3000"})
    apart = load_settings({**BASE, "DIALER_HOST": "10.0.0.5", "DIALER_METRICS_PORT": "3000"})
    assert apart.metrics_port == 3000  # another address: no clash


def test_a_refused_token_says_where_to_get_a_new_one() -> None:
    assert token_refused("SLACK_APP_TOKEN", "invalid_auth") == (
        "SLACK_APP_TOKEN was refused by Slack (invalid_auth): make a new app-level token with "
        "connections:write under Basic Information → App-Level Tokens."
    )
    assert token_refused("SLACK_BOT_TOKEN", "token_revoked").startswith(
        "SLACK_BOT_TOKEN was refused by Slack (token_revoked): copy the Bot User OAuth Token "
        "(xoxb-…) again from OAuth & Permissions"
    )
