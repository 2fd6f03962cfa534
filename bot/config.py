"""Settings from the environment: declared once, validated once at start-up, named when wrong.

Each setting is declared once, as a field of `Settings` made by `setting(...)`: the variable's
name, its default, the parser that reads it, what a good value is (for the error sentence and
the docs) and whether it is a secret. `SETTINGS`, the table of those rows in declaration order,
is read off the fields. The bot loads every row into `Settings`; the operator commands read the
rows they need with `read`, so both accept and refuse exactly the same values, in the same words.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import phonenumbers

from bot.domain.backoff import Backoff
from bot.domain.ids import USER_ID
from bot.domain.rates import Rate
from bot.logs import FORMATS as LOG_FORMATS
from bot.logs import LEVELS as LOG_LEVELS

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_WEBFONES_BASE_URL = "https://api.webfones.com:2343"

#: Every placeholder in .env.example contains this; a value that still does was never filled in.
PLACEHOLDER = "REPLACE-ME"
_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_SECONDS = r"\s*(\d+(?:\.\d+)?|\.\d+)\s*"
#: The longest wait DIALER_SLACK_RETRY may ask for between two tries to reach Slack, in seconds.
LONGEST_WAIT = 3600


class SettingsError(Exception):
    """Settings are missing or malformed: one sentence per problem, each naming its setting."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems: tuple[str, ...] = problems


class Invalid(ValueError):
    """A parser's refusal: the words after the setting's name, or none for the usual sentence."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default, parser, and what a good value looks like."""

    name: str
    attr: str  # the Settings field it fills (declared there; SETTINGS fills this in)
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


#: libpq's key=value connection strings: `host=db.example user=dialer sslmode=require`.
_CONNINFO = re.compile(r"\s*(\w+\s*=\s*('(\\.|[^'\\])*'|[^\s']+)\s*)+")


def database_url(value: str) -> str:
    """A PostgreSQL connection string: a postgresql:// (or postgres://) URL or libpq key=value.

    The value is kept as typed (libpq reads it, sslmode and all); the refusal never repeats it,
    since it may hold a password.
    """
    parts = urlsplit(value)
    if parts.scheme in ("postgresql", "postgres"):
        if not (parts.netloc or parts.path or parts.query):
            raise Invalid(
                "has no server in it: it should look like postgresql://dialer@db.example/dialer."
            )
        return value
    if "://" not in value and _CONNINFO.fullmatch(value):
        return value
    raise Invalid(
        "is not a PostgreSQL URL: it should look like postgresql://dialer@db.example/dialer "
        "(or libpq's host=… dbname=… form)."
    )


def database_passwords(value: str | None) -> tuple[str, ...]:
    """The password inside a connection string, as typed and decoded (to scrub it from logs)."""
    if not value:
        return ()
    parts = urlsplit(value)
    if parts.scheme in ("postgresql", "postgres"):
        typed = parts.password
        return tuple({typed, unquote(typed)}) if typed else ()
    match = re.search(r"(?:^|\s)password\s*=\s*('(?:\\.|[^'\\])*'|[^\s']+)", value)
    if not match:
        return ()
    typed = match[1]
    if typed[0] == "'":
        return (typed, re.sub(r"\\(.)", r"\1", typed[1:-1]))
    return (typed,)


#: Paths that mean the whole endpoint was pasted instead of the base URL (the API's own
#: examples spell it /dailer/call).
_ENDPOINT_PATHS = ("/dialer/call", "/dailer/call", "/dialer")


def pbx_base_url(value: str) -> str:
    """The Dialer API's base URL: an http(s) URL without the /dialer/call the bot adds."""
    value = url(trailing_slash=False, example=DEFAULT_WEBFONES_BASE_URL)(value)
    parts = urlsplit(value)
    path = parts.path.rstrip("/")
    for endpoint in _ENDPOINT_PATHS:
        if path.lower().endswith(endpoint):
            base = value[: len(value) - len(parts.path)] + path[: -len(endpoint)]
            raise Invalid(
                f"ends in {path[-len(endpoint) :]}: drop that path, the bot adds /dialer/call "
                f"itself ({base})."
            )
    return value


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


def backoff(value: str) -> Backoff:
    """FIRST,LONGEST seconds between tries, such as 1,60: waits double from FIRST to LONGEST."""
    match = re.fullmatch(f"{_SECONDS},{_SECONDS}", value)
    if not match:
        raise Invalid()
    first, longest = float(match[1]), float(match[2])
    if not 0 < first <= longest <= LONGEST_WAIT:
        raise Invalid()
    return Backoff(first, longest)


def profile_field(value: str) -> str:
    """A custom profile field's label or id: up to 100 characters on one line."""
    if len(value) > 100 or any(not ch.isprintable() for ch in value):
        raise Invalid()
    return value


# --- the table: one declaration per setting, on the Settings field it fills ----------------

#: The key under which a Settings field's metadata holds its Setting row.
_ROW = "setting"


def setting(
    name: str,
    *,
    parse: Callable[[str], Any],
    should: str,
    help: str,
    default: str | None = None,
    required: bool = False,
    secret: bool = False,
) -> Any:
    """A Settings field read from `name`, defaulting to `default` parsed; secrets out of repr."""
    row = Setting(name, "", default, parse, should, help, required=required, secret=secret)
    metadata = {_ROW: row}
    if required:
        return field(repr=not secret, metadata=metadata)
    value = None if default is None else parse(default)
    return field(default=value, repr=not secret, metadata=metadata)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the bot reads from its environment; secrets are kept out of repr().

    Each field is one setting, declared once: its variable, default, parser and help are the
    row of SETTINGS it gives. `load_settings` is the way to build one.
    """

    slack_bot_token: str = setting(
        "SLACK_BOT_TOKEN",
        parse=token("xoxb-"),
        should="the bot token from OAuth & Permissions (xoxb-…)",
        help="Slack bot token; every Web API call uses it",
        required=True,
        secret=True,
    )
    slack_app_token: str | None = setting(
        "SLACK_APP_TOKEN",
        parse=token("xapp-"),
        should="an app-level token with connections:write (xapp-…)",
        help="Socket Mode when set: the app-level token the WebSocket is opened with",
        secret=True,
    )
    slack_signing_secret: str | None = setting(
        "SLACK_SIGNING_SECRET",
        parse=text,
        should="the signing secret from Basic Information",
        help="HTTP mode: checks that each request comes from Slack (required there)",
        secret=True,
    )
    slack_api_url: str = setting(
        "SLACK_API_URL",
        default=DEFAULT_SLACK_API_URL,
        parse=url(trailing_slash=True, example=DEFAULT_SLACK_API_URL),
        should=f"a URL like {DEFAULT_SLACK_API_URL}",
        help="Slack Web API base URL (only tests change it)",
    )
    slack_retry: Backoff = setting(
        "DIALER_SLACK_RETRY",
        default="1,60",
        parse=backoff,
        should=(
            "FIRST,LONGEST in seconds, like 1,60: a first wait above 0, "
            f"and a longest no shorter than it and at most {LONGEST_WAIT}"
        ),
        help=(
            "how long to wait between tries while Slack cannot be reached: "
            "the first wait and the longest, in seconds"
        ),
    )
    webfones_api_key: str = setting(
        "WEBFONES_API_KEY",
        parse=api_key,
        should="the key from your WebFones administrator",
        help="WebFones Dialer API key; it can dial from any extension",
        required=True,
        secret=True,
    )
    webfones_base_url: str = setting(
        "WEBFONES_BASE_URL",
        default=DEFAULT_WEBFONES_BASE_URL,
        parse=pbx_base_url,
        should=f"a URL like {DEFAULT_WEBFONES_BASE_URL}",
        help="WebFones Dialer API base URL, without a path",
    )
    webfones_timeout: int = setting(
        "WEBFONES_TIMEOUT",
        default="15",
        parse=whole_number(120),
        should="a whole number from 1 to 120",
        help="seconds to wait for the PBX to answer one call request",
    )
    webfones_connections: int = setting(
        "WEBFONES_CONNECTIONS",
        default="200",
        parse=whole_number(1000),
        should="a whole number from 1 to 1000",
        help="requests sent to the PBX at once, at most; more wait their turn, unsent",
    )
    admins: frozenset[str] = setting(
        "DIALER_ADMINS",
        default="",
        parse=user_ids,
        should="Slack user IDs like U0123ABCD, separated by commas",
        help="who may link extensions besides workspace admins and owners; "
        "link requests go to them",
    )
    default_region: str = setting(
        "DIALER_DEFAULT_REGION",
        default="US",
        parse=region,
        should="a two-letter country code like US",
        help="the country numbers typed without +country code are read in",
    )
    allowed_regions: frozenset[str] = setting(
        "DIALER_ALLOWED_REGIONS",
        default="US,CA",
        parse=regions,
        should="two-letter country codes separated by commas, like US,CA",
        help="the countries that may be called",
    )
    user_rate: Rate = setting(
        "DIALER_USER_RATE",
        default="10/60",
        parse=rate,
        should="COUNT/SECONDS with positive whole numbers, like 10/60",
        help="how many calls one user may place per sliding window",
    )
    pbx_rate: Rate = setting(
        "DIALER_PBX_RATE",
        default="1000/900",
        parse=rate,
        should="COUNT/SECONDS with positive whole numbers, like 1000/900",
        help="how many requests the whole app may send the PBX (the Dialer API allows 1000/900)",
    )
    db_path: str = setting(
        "DIALER_DB",
        default="dialer.db",
        parse=text,
        should="a file path",
        help="the SQLite file holding the links and the audit log",
    )
    database_url: str | None = setting(
        "DIALER_DATABASE_URL",
        parse=database_url,
        should="a PostgreSQL URL like postgresql://dialer@db.example/dialer",
        help="PostgreSQL for replicas on several hosts (instead of DIALER_DB) when set",
        secret=True,
    )
    log_days: int = setting(
        "DIALER_LOG_DAYS",
        default="90",
        parse=whole_number(36500),
        should="a whole number from 1 to 36500",
        help="days to keep audit log rows",
    )
    port: int = setting(
        "PORT",
        default="3000",
        parse=whole_number(65535),
        should="a whole number from 1 to 65535",
        help="HTTP mode: the port Slack's requests arrive on (POST /slack/events)",
    )
    http_host: str = setting(
        "DIALER_HOST",
        default="0.0.0.0",
        parse=host,
        should="an address to listen on, like 0.0.0.0 or 127.0.0.1",
        help="HTTP mode: the address PORT listens on (0.0.0.0: every interface)",
    )
    max_connections: int | None = setting(
        "DIALER_MAX_CONNECTIONS",
        parse=whole_number(1_000_000),
        should="a whole number from 1 to 1000000",
        help=(
            "HTTP mode: open connections kept at most (unset: sized from the open-files "
            "limit); at the cap the oldest idle or slowest one is closed first"
        ),
    )
    log_level: str = setting(
        "DIALER_LOG_LEVEL",
        default="INFO",
        parse=one_of(*LOG_LEVELS, upper=True),
        should="one of " + ", ".join(LOG_LEVELS),
        help="the lowest level of log line printed",
    )
    log_format: str = setting(
        "DIALER_LOG_FORMAT",
        default="text",
        parse=one_of(*LOG_FORMATS, upper=False),
        should="text or json",
        help="log lines as text, or as one JSON object per line",
    )
    metrics_port: int | None = setting(
        "DIALER_METRICS_PORT",
        parse=whole_number(65535),
        should="a whole number from 1 to 65535",
        help=(
            "serve /metrics on this port; in HTTP mode /healthz moves here too, off PORT "
            "(unset: Socket Mode serves no metrics, HTTP mode serves both on PORT)"
        ),
    )
    metrics_host: str = setting(
        "DIALER_METRICS_HOST",
        default="127.0.0.1",
        parse=host,
        should="an address to listen on, like 127.0.0.1 or 0.0.0.0",
        help="the address the DIALER_METRICS_PORT server listens on",
    )

    extension_field: str | None = setting(
        "DIALER_EXTENSION_FIELD",
        parse=profile_field,
        should="the label or id of a custom profile field, like Phone extension or Xf0123ABCD",
        help="the custom profile field (protected or SCIM-managed) that holds each person's "
        "extension: people are linked from it (off when unset)",
    )

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is set: Slack connects over a WebSocket."""
        return bool(self.slack_app_token)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for scrubbing from anything that might be shown or logged."""
        values = [getattr(self, BY_NAME[name].attr) for name in SECRET_NAMES]
        # The database password alone too: a driver's message may quote it without the URL.
        values.extend(database_passwords(self.database_url))
        return tuple(value for value in values if value)


#: Every setting, in the order Settings declares them: the rows its fields carry.
SETTINGS: tuple[Setting, ...] = tuple(
    replace(f.metadata[_ROW], attr=f.name) for f in fields(Settings)
)
BY_NAME: dict[str, Setting] = {row.name: row for row in SETTINGS}
#: The settings whose values are never logged, shown or passed on to child processes.
SECRET_NAMES: tuple[str, ...] = tuple(row.name for row in SETTINGS if row.secret)


def is_placeholder(value: str) -> bool:
    """Whether a value is still one of .env.example's placeholders (they all say REPLACE-ME)."""
    return PLACEHOLDER in value.upper()


def raw(env: Mapping[str, str], name: str) -> str:
    """A setting's text as set, stripped; empty when unset."""
    return (env.get(name) or "").strip()


def read(env: Mapping[str, str], name: str) -> Any:
    """One setting's value from the table: its default when unset; SettingsError when bad."""
    row = BY_NAME[name]
    value = raw(env, name)
    if value and is_placeholder(value):
        fix = "" if row.required else ", or delete the line to leave it unset"
        raise SettingsError(
            f"{name} still holds the placeholder from .env.example: "
            f"fill in .env with the real value{fix}."
        )
    if not value:
        if row.required:
            raise SettingsError(f"{name} is not set: it should be {row.should}.")
        if row.default is None:
            return None
        value = row.default
    try:
        return row.parse(value)
    except Invalid as refused:
        reason = str(refused) or None
        raise SettingsError(row.refusal(value, reason)) from None


#: Where to get a new token when Slack refuses one, for the start-up line and `check`.
TOKEN_SOURCES = {
    "SLACK_BOT_TOKEN": (
        "copy the Bot User OAuth Token (xoxb-…) again from OAuth & Permissions, "
        "reinstalling the app to the workspace if the token was revoked"
    ),
    "SLACK_APP_TOKEN": (
        "make a new app-level token with connections:write under Basic Information → "
        "App-Level Tokens"
    ),
}


def token_refused(name: str, code: str) -> str:
    """The sentence for a token Slack refused: which one, Slack's word, and where to get one."""
    return f"{name} was refused by Slack ({code}): {TOKEN_SOURCES[name]}."


def _socket_mode(env: Mapping[str, str]) -> bool:
    """Whether the environment asks for Socket Mode: SLACK_APP_TOKEN is set (even wrongly)."""
    return bool(raw(env, "SLACK_APP_TOKEN"))


def _signing_secret(env: Mapping[str, str], socket_mode: bool) -> str | None:
    """SLACK_SIGNING_SECRET as the mode needs it: unused in Socket Mode, required in HTTP mode."""
    value = raw(env, "SLACK_SIGNING_SECRET")
    if socket_mode:  # not used: a placeholder left in .env is no error
        return None if not value or is_placeholder(value) else value
    if value and not is_placeholder(value):
        return value
    where = "the signing secret from Basic Information → App Credentials"
    if value:
        raise SettingsError(
            "SLACK_SIGNING_SECRET still holds the placeholder from .env.example: fill in .env "
            f"with {where}, which HTTP mode needs (or set SLACK_APP_TOKEN to use Socket Mode)."
        )
    raise SettingsError(
        f"SLACK_SIGNING_SECRET is not set: HTTP mode needs {where} "
        "(or set SLACK_APP_TOKEN to use Socket Mode)."
    )


def _same_address(values: Mapping[str, Any]) -> bool:
    """Whether HTTP mode's two listeners would want the same port on overlapping addresses."""
    if values["metrics_port"] != values["port"]:
        return False
    hosts = {values["http_host"], values["metrics_host"]}
    return len(hosts) == 1 or bool(hosts & {"0.0.0.0", "::"})


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from an environment mapping; SettingsError naming every bad one at once."""
    socket_mode = _socket_mode(env)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for row in SETTINGS:
        try:
            if row.name == "SLACK_SIGNING_SECRET":
                values[row.attr] = _signing_secret(env, socket_mode)
            else:
                values[row.attr] = read(env, row.name)
        except SettingsError as error:
            problems.extend(error.problems)
    if not problems and not socket_mode and _same_address(values):
        problems.append(
            f"DIALER_METRICS_PORT is {values['port']}, the same as PORT: in HTTP mode it "
            "takes /healthz and /metrics off PORT, so pick another port (or unset it)."
        )
    if problems:
        raise SettingsError(*problems)
    return Settings(**values)


def default_region(env: Mapping[str, str]) -> str:
    """DIALER_DEFAULT_REGION as load_settings reads it (US when unset), for the CLI."""
    return read(env, "DIALER_DEFAULT_REGION")
