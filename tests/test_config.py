"""Settings: defaults, validation, and secrets kept out of repr()."""

from __future__ import annotations

import pytest

from bot.config import Rate, SettingsError, load_settings

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
    ],
)
def test_bad_setting_is_named(change: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, **change})
    assert str(caught.value).startswith(named)


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
