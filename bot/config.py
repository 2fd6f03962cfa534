"""Settings from the environment: validated once at start-up, named when wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import phonenumbers

from bot.ids import USER_ID
from bot.logs import FORMATS as LOG_FORMATS
from bot.logs import LEVELS as LOG_LEVELS

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_WEBFONES_BASE_URL = "https://api.webfones.com:2343"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and says what it should be."""


@dataclass(frozen=True)
class Rate:
    """A budget of `count` events per sliding window of `seconds`."""

    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}"


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment; secrets are kept out of repr()."""

    slack_bot_token: str = field(repr=False)
    webfones_api_key: str = field(repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    webfones_base_url: str = DEFAULT_WEBFONES_BASE_URL
    db_path: str = "dialer.db"
    admins: frozenset[str] = frozenset()
    default_region: str = "US"
    allowed_regions: frozenset[str] = frozenset({"US", "CA"})
    user_rate: Rate = Rate(10, 60)
    pbx_rate: Rate = Rate(1000, 900)
    log_days: int = 90
    port: int = 3000
    webfones_timeout: int = 15
    #: Socket Mode's Prometheus /metrics port (HTTP mode serves /metrics on `port`).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_format: str = "text"

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is set: Slack connects over a WebSocket."""
        return bool(self.slack_app_token)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for scrubbing from anything that might be shown or logged."""
        values = (
            self.slack_bot_token,
            self.webfones_api_key,
            self.slack_app_token,
            self.slack_signing_secret,
        )
        return tuple(v for v in values if v)


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = _get(env, name)
    if not value:
        raise SettingsError(f"{name} is not set: it should be {what}.")
    return value


def _token(env: Mapping[str, str], name: str, prefix: str, what: str) -> str:
    value = _required(env, name, what)
    if not value.startswith(prefix) or len(value) < len(prefix) + 4:
        raise SettingsError(f"{name} does not look right: it should be {what}.")
    return value


def _url(env: Mapping[str, str], name: str, default: str, *, trailing_slash: bool) -> str:
    value = _get(env, name) or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} is not a URL: it should look like {default}.")
    value = value.rstrip("/")
    return value + "/" if trailing_slash else value


def parse_rate(name: str, value: str, default: Rate) -> Rate:
    """Read a COUNT/SECONDS budget such as 10/60, naming the setting when it is malformed."""
    if not value:
        return default
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise SettingsError(
            f"{name} is {value!r}: it should be COUNT/SECONDS with positive whole numbers, "
            f"like {default}."
        )
    return Rate(int(match[1]), int(match[2]))


def _api_key(env: Mapping[str, str]) -> str:
    value = _required(env, "WEBFONES_API_KEY", "the key from your WebFones administrator")
    if not value.isascii() or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise SettingsError(
            "WEBFONES_API_KEY has spaces, control characters or non-ASCII letters in it: "
            "paste the key alone, without quotes or line breaks."
        )
    return value


def _region(name: str, code: str) -> str:
    code = code.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError(
            f"{name} has {code!r}, which is not a country code: "
            "use two-letter ISO codes like US, CA."
        )
    return code


def _regions(env: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    raw = _get(env, name)
    if not raw:
        return default
    codes = frozenset(_region(name, c) for c in raw.split(",") if c.strip())
    if not codes:
        raise SettingsError(f"{name} is empty: it should list country codes, like US,CA.")
    return codes


def _admins(env: Mapping[str, str]) -> frozenset[str]:
    ids = [a.strip() for a in _get(env, "DIALER_ADMINS").split(",") if a.strip()]
    for user_id in ids:
        if not USER_ID.match(user_id):
            raise SettingsError(
                f"DIALER_ADMINS has {user_id!r}: it should list Slack user IDs like U0123ABCD, "
                "separated by commas (not names or emails)."
            )
    return frozenset(ids)


def _positive_int(env: Mapping[str, str], name: str, default: int, upper: int) -> int:
    raw = _get(env, name)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= upper:
        raise SettingsError(f"{name} is {raw!r}: it should be a whole number from 1 to {upper}.")
    return int(raw)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = _get(env, name)
    if not raw:
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise SettingsError(f"{name} is {raw!r}: it should be one of {', '.join(choices)}.")


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from an environment mapping; raise SettingsError naming the first bad one."""
    bot_token = _token(
        env, "SLACK_BOT_TOKEN", "xoxb-", "the bot token from OAuth & Permissions (xoxb-…)"
    )
    app_token = None
    if _get(env, "SLACK_APP_TOKEN"):
        app_token = _token(
            env, "SLACK_APP_TOKEN", "xapp-", "an app-level token with connections:write (xapp-…)"
        )
    signing_secret = _get(env, "SLACK_SIGNING_SECRET") or None
    if app_token is None and signing_secret is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs the signing secret from Basic "
            "Information (or set SLACK_APP_TOKEN to use Socket Mode)."
        )
    default_region = _region("DIALER_DEFAULT_REGION", _get(env, "DIALER_DEFAULT_REGION") or "US")
    return Settings(
        slack_bot_token=bot_token,
        slack_app_token=app_token,
        slack_signing_secret=signing_secret,
        slack_api_url=_url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL, trailing_slash=True),
        webfones_api_key=_api_key(env),
        webfones_base_url=_url(
            env, "WEBFONES_BASE_URL", DEFAULT_WEBFONES_BASE_URL, trailing_slash=False
        ),
        db_path=_get(env, "DIALER_DB") or "dialer.db",
        admins=_admins(env),
        default_region=default_region,
        allowed_regions=_regions(env, "DIALER_ALLOWED_REGIONS", frozenset({"US", "CA"})),
        user_rate=parse_rate("DIALER_USER_RATE", _get(env, "DIALER_USER_RATE"), Rate(10, 60)),
        pbx_rate=parse_rate("DIALER_PBX_RATE", _get(env, "DIALER_PBX_RATE"), Rate(1000, 900)),
        log_days=_positive_int(env, "DIALER_LOG_DAYS", 90, 36500),
        port=_positive_int(env, "PORT", 3000, 65535),
        webfones_timeout=_positive_int(env, "WEBFONES_TIMEOUT", 15, 120),
        metrics_port=_positive_int(env, "DIALER_METRICS_PORT", 0, 65535) or None,
        metrics_host=_get(env, "DIALER_METRICS_HOST") or "127.0.0.1",
        log_level=_choice(env, "DIALER_LOG_LEVEL", LOG_LEVELS, "INFO"),
        log_format=_choice(env, "DIALER_LOG_FORMAT", LOG_FORMATS, "text"),
    )


def default_region(env: Mapping[str, str]) -> str:
    """DIALER_DEFAULT_REGION as load_settings reads it (US when unset), for the CLI."""
    return _region("DIALER_DEFAULT_REGION", _get(env, "DIALER_DEFAULT_REGION") or "US")
