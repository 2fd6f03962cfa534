"""Settings from the environment: one table, validated once at start-up, named when wrong.

`SETTINGS` is the only list of settings: each row has the variable's name, its default, the
parser that reads it, what a good value is (for the error sentence and the docs) and whether
it is a secret. The bot loads every row into `Settings`; the operator commands read the rows
they need with `read`, so both accept and refuse exactly the same values, in the same words.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from bot.domain.ids import USER_ID
from bot.domain.rates import Rate
from bot.logs import FORMATS as LOG_FORMATS
from bot.logs import LEVELS as LOG_LEVELS

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_WEBFONES_BASE_URL = "https://api.webfones.com:2343"

#: Every placeholder in .env.example contains this; a value that still does was never filled in.
PLACEHOLDER = "REPLACE-ME"
_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and says what it should be."""


class Invalid(ValueError):
    """A parser's refusal: the words after the setting's name, or none for the usual sentence."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default, parser, and what a good value looks like."""

    name: str
    attr: str  # the Settings attribute it fills
    default: str | None  # as it would be written in .env; None: unset means "none" or "off"
    parse: Callable[[str], Any]  # the stripped text (or the default) -> the value; raises Invalid
    should: str  # "it should be …": a good value, for the error sentence and the docs
    help: str  # what it does, in one line, for the settings reference
    required: bool = False
    secret: bool = False

    def refusal(self, value: str, reason: str | None) -> str:
        """The sentence for a bad value: the parser's own words, or 'is …: it should be …'."""
        if reason:
            return f"{self.name} {reason}"
        if self.secret:  # a secret is never echoed, not even a wrong one
            return f"{self.name} does not look right: it should be {self.should}."
        return f"{self.name} is {value!r}: it should be {self.should}."


# --- parsers: the stripped text of one setting -> its value ---------------------------------


def text(value: str) -> str:
    """Any text, as typed."""
    return value


def token(prefix: str) -> Callable[[str], str]:
    """A Slack token that starts with `prefix` and has something after it."""

    def parse(value: str) -> str:
        if not value.startswith(prefix) or len(value) < len(prefix) + 4:
            raise Invalid()
        return value

    return parse


def api_key(value: str) -> str:
    """The PBX key: printable ASCII with no spaces, as it travels in an HTTP header."""
    if not value.isascii() or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise Invalid(
            "has spaces, control characters or non-ASCII letters in it: "
            "paste the key alone, without quotes or line breaks."
        )
    return value


def url(*, trailing_slash: bool, example: str) -> Callable[[str], str]:
    """An http(s) URL with a host, normalised to end with or without a slash."""

    def parse(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Invalid(f"is not a URL: it should look like {example}.")
        value = value.rstrip("/")
        return value + "/" if trailing_slash else value

    return parse


def whole_number(upper: int) -> Callable[[str], int]:
    """A whole number from 1 to `upper`."""

    def parse(value: str) -> int:
        if not value.isdigit() or not 1 <= int(value) <= upper:
            raise Invalid()
        return int(value)

    return parse


def rate(value: str) -> Rate:
    """COUNT/SECONDS with positive whole numbers, such as 10/60."""
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", value)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise Invalid()
    return Rate(int(match[1]), int(match[2]))


def region(value: str) -> str:
    """A two-letter country code phonenumbers knows, upper-cased."""
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(
            f"has {code!r}, which is not a country code: use two-letter ISO codes like US, CA."
        )
    return code


def regions(value: str) -> frozenset[str]:
    """Comma-separated country codes, at least one."""
    codes = frozenset(region(code) for code in value.split(",") if code.strip())
    if not codes:
        raise Invalid("is empty: it should list country codes, like US,CA.")
    return codes


def user_ids(value: str) -> frozenset[str]:
    """Comma-separated Slack user IDs."""
    ids = [part.strip() for part in value.split(",") if part.strip()]
    for user_id in ids:
        if not USER_ID.match(user_id):
            raise Invalid(
                f"has {user_id!r}: it should list Slack user IDs like U0123ABCD, "
                "separated by commas (not names or emails)."
            )
    return frozenset(ids)


def one_of(*choices: str, upper: bool) -> Callable[[str], str]:
    """One of `choices`, in any case; answered upper- or lower-case as the choices are."""

    def parse(value: str) -> str:
        value = value.upper() if upper else value.lower()
        if value not in choices:
            raise Invalid()
        return value

    return parse


def host(value: str) -> str:
    """An IP address or host name to listen on."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if not _HOST_NAME.match(value):
        raise Invalid()
    return value


# --- the table ------------------------------------------------------------------------------

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SLACK_BOT_TOKEN",
        "slack_bot_token",
        None,
        token("xoxb-"),
        "the bot token from OAuth & Permissions (xoxb-…)",
        "Slack bot token; every Web API call uses it",
        required=True,
        secret=True,
    ),
    Setting(
        "SLACK_APP_TOKEN",
        "slack_app_token",
        None,
        token("xapp-"),
        "an app-level token with connections:write (xapp-…)",
        "Socket Mode when set: the app-level token the WebSocket is opened with",
        secret=True,
    ),
    Setting(
        "SLACK_SIGNING_SECRET",
        "slack_signing_secret",
        None,
        text,
        "the signing secret from Basic Information",
        "HTTP mode: checks that each request comes from Slack (required there)",
        secret=True,
    ),
    Setting(
        "SLACK_API_URL",
        "slack_api_url",
        DEFAULT_SLACK_API_URL,
        url(trailing_slash=True, example=DEFAULT_SLACK_API_URL),
        f"a URL like {DEFAULT_SLACK_API_URL}",
        "Slack Web API base URL (only tests change it)",
    ),
    Setting(
        "WEBFONES_API_KEY",
        "webfones_api_key",
        None,
        api_key,
        "the key from your WebFones administrator",
        "WebFones Dialer API key; it can dial from any extension",
        required=True,
        secret=True,
    ),
    Setting(
        "WEBFONES_BASE_URL",
        "webfones_base_url",
        DEFAULT_WEBFONES_BASE_URL,
        url(trailing_slash=False, example=DEFAULT_WEBFONES_BASE_URL),
        f"a URL like {DEFAULT_WEBFONES_BASE_URL}",
        "WebFones Dialer API base URL, without a path",
    ),
    Setting(
        "WEBFONES_TIMEOUT",
        "webfones_timeout",
        "15",
        whole_number(120),
        "a whole number from 1 to 120",
        "seconds to wait for the PBX to answer one call request",
    ),
    Setting(
        "DIALER_ADMINS",
        "admins",
        "",
        user_ids,
        "Slack user IDs like U0123ABCD, separated by commas",
        "who may link extensions besides workspace admins and owners; link requests go to them",
    ),
    Setting(
        "DIALER_DEFAULT_REGION",
        "default_region",
        "US",
        region,
        "a two-letter country code like US",
        "the country numbers typed without +country code are read in",
    ),
    Setting(
        "DIALER_ALLOWED_REGIONS",
        "allowed_regions",
        "US,CA",
        regions,
        "two-letter country codes separated by commas, like US,CA",
        "the countries that may be called",
    ),
    Setting(
        "DIALER_USER_RATE",
        "user_rate",
        "10/60",
        rate,
        "COUNT/SECONDS with positive whole numbers, like 10/60",
        "how many calls one user may place per sliding window",
    ),
    Setting(
        "DIALER_PBX_RATE",
        "pbx_rate",
        "1000/900",
        rate,
        "COUNT/SECONDS with positive whole numbers, like 1000/900",
        "how many requests the whole app may send the PBX (the Dialer API allows 1000/900)",
    ),
    Setting(
        "DIALER_DB",
        "db_path",
        "dialer.db",
        text,
        "a file path",
        "the SQLite file holding the links and the audit log",
    ),
    Setting(
        "DIALER_LOG_DAYS",
        "log_days",
        "90",
        whole_number(36500),
        "a whole number from 1 to 36500",
        "days to keep audit log rows",
    ),
    Setting(
        "PORT",
        "port",
        "3000",
        whole_number(65535),
        "a whole number from 1 to 65535",
        "HTTP mode: the port to listen on (all interfaces)",
    ),
    Setting(
        "DIALER_LOG_LEVEL",
        "log_level",
        "INFO",
        one_of(*LOG_LEVELS, upper=True),
        "one of " + ", ".join(LOG_LEVELS),
        "the lowest level of log line printed",
    ),
    Setting(
        "DIALER_LOG_FORMAT",
        "log_format",
        "text",
        one_of(*LOG_FORMATS, upper=False),
        "text or json",
        "log lines as text, or as one JSON object per line",
    ),
    Setting(
        "DIALER_METRICS_PORT",
        "metrics_port",
        None,
        whole_number(65535),
        "a whole number from 1 to 65535",
        "Socket Mode: serve Prometheus /metrics on this port (off when unset)",
    ),
    Setting(
        "DIALER_METRICS_HOST",
        "metrics_host",
        "127.0.0.1",
        host,
        "an address to listen on, like 127.0.0.1 or 0.0.0.0",
        "the address the DIALER_METRICS_PORT server listens on",
    ),
)

BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}
#: The settings whose values are never logged, shown or passed on to child processes.
SECRET_NAMES: tuple[str, ...] = tuple(setting.name for setting in SETTINGS if setting.secret)


def is_placeholder(value: str) -> bool:
    """Whether a value is still one of .env.example's placeholders (they all say REPLACE-ME)."""
    return PLACEHOLDER in value.upper()


def raw(env: Mapping[str, str], name: str) -> str:
    """A setting's text as set, stripped; empty when unset."""
    return (env.get(name) or "").strip()


def read(env: Mapping[str, str], name: str) -> Any:
    """One setting's value from the table: its default when unset; SettingsError when bad."""
    setting = BY_NAME[name]
    value = raw(env, name)
    if value and is_placeholder(value):
        fix = "" if setting.required else ", or delete the line to leave it unset"
        raise SettingsError(
            f"{name} still holds the placeholder from .env.example: "
            f"fill in .env with the real value{fix}."
        )
    if not value:
        if setting.required:
            raise SettingsError(f"{name} is not set: it should be {setting.should}.")
        if setting.default is None:
            return None
        value = setting.default
    try:
        return setting.parse(value)
    except Invalid as refused:
        reason = str(refused) or None
        raise SettingsError(setting.refusal(value, reason)) from None


#: Each optional setting's value when unset, as the table says (Settings' defaults).
_DEFAULT: dict[str, Any] = {s.name: read({}, s.name) for s in SETTINGS if not s.required}


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment; secrets are kept out of repr().

    The defaults come from SETTINGS; `load_settings` is the way to build one.
    """

    slack_bot_token: str = field(repr=False)
    webfones_api_key: str = field(repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = _DEFAULT["SLACK_API_URL"]
    webfones_base_url: str = _DEFAULT["WEBFONES_BASE_URL"]
    db_path: str = _DEFAULT["DIALER_DB"]
    admins: frozenset[str] = _DEFAULT["DIALER_ADMINS"]
    default_region: str = _DEFAULT["DIALER_DEFAULT_REGION"]
    allowed_regions: frozenset[str] = _DEFAULT["DIALER_ALLOWED_REGIONS"]
    user_rate: Rate = _DEFAULT["DIALER_USER_RATE"]
    pbx_rate: Rate = _DEFAULT["DIALER_PBX_RATE"]
    log_days: int = _DEFAULT["DIALER_LOG_DAYS"]
    port: int = _DEFAULT["PORT"]
    webfones_timeout: int = _DEFAULT["WEBFONES_TIMEOUT"]
    log_level: str = _DEFAULT["DIALER_LOG_LEVEL"]
    log_format: str = _DEFAULT["DIALER_LOG_FORMAT"]
    metrics_port: int | None = _DEFAULT["DIALER_METRICS_PORT"]
    metrics_host: str = _DEFAULT["DIALER_METRICS_HOST"]

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is set: Slack connects over a WebSocket."""
        return bool(self.slack_app_token)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for scrubbing from anything that might be shown or logged."""
        values = (getattr(self, BY_NAME[name].attr) for name in SECRET_NAMES)
        return tuple(value for value in values if value)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from an environment mapping; raise SettingsError naming the first bad one."""
    values = {setting.attr: read(env, setting.name) for setting in SETTINGS}
    if not values["slack_app_token"] and not values["slack_signing_secret"]:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs the signing secret from Basic "
            "Information (or set SLACK_APP_TOKEN to use Socket Mode)."
        )
    return Settings(**values)


def default_region(env: Mapping[str, str]) -> str:
    """DIALER_DEFAULT_REGION as load_settings reads it (US when unset), for the CLI."""
    return read(env, "DIALER_DEFAULT_REGION")
