"""What the operator commands share: settings read from bot.config's table, and how they fail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import config, wiring
from bot.logs import scrub
from bot.store import Store, StoreError

Env = Mapping[str, str]


class CliError(Exception):
    """The command cannot go on; the message is the one line the operator sees (exit 2)."""


def setting(env: Env, name: str) -> Any:
    """One setting read as the bot reads it (default, parser, sentence); CliError when bad."""
    try:
        return config.read(env, name)
    except config.SettingsError as error:
        raise CliError(str(error)) from None


def secrets(env: Env) -> tuple[str, ...]:
    """Every secret value in the environment, for scrubbing anything printed."""
    values = (config.raw(env, name) for name in config.SECRET_NAMES)
    return tuple(value for value in values if len(value) >= 4)


def safe(text: str, env: Env) -> str:
    """Text with every secret from the environment replaced by [redacted]."""
    return scrub(text, secrets(env))


def db_path(env: Env) -> str:
    """DIALER_DB, defaulting to dialer.db in the working directory, as the bot does."""
    return setting(env, "DIALER_DB")


@dataclass(frozen=True)
class Where:
    """Where the store is: PostgreSQL at DIALER_DATABASE_URL when set, else DIALER_DB."""

    db_path: str
    database_url: str | None = None

    @property
    def shared(self) -> bool:
        """Whether the store is PostgreSQL (several hosts share it)."""
        return bool(self.database_url)

    @property
    def name(self) -> str:
        """The store named for the operator: the setting and its value, never a password."""
        if not self.database_url:
            return f"DIALER_DB {self.db_path}"
        try:
            from bot.store.pg.errors import shown  # psycopg is the [postgres] extra
        except ImportError:
            return "DIALER_DATABASE_URL"
        return f"DIALER_DATABASE_URL {shown(self.database_url)}"

    def exists(self) -> bool:
        """Whether there is a store to read (opening SQLite's file would create it)."""
        return self.shared or db_exists(self.db_path)


def where(env: Env) -> Where:
    """The store the bot would open with these settings."""
    return Where(setting(env, "DIALER_DB"), setting(env, "DIALER_DATABASE_URL"))


def open_store(place: Where | str) -> Store:
    """Open (and migrate) the store through bot.wiring, the one place that picks the backend,
    with plain methods on either; or explain in one line why not (never with a password)."""
    if isinstance(place, str):
        place = Where(place)
    try:
        return wiring.open_store(place, blocking=True)  # type: ignore[return-value]
    except (StoreError, OSError) as error:
        if place.shared:  # the store's words name DIALER_DATABASE_URL without the password
            raise CliError(f"{str(error).rstrip('.')}.") from None
        raise CliError(f"DIALER_DB {place.db_path!r} cannot be opened: {error}.") from None


def db_exists(path: str) -> bool:
    """Whether the database file is already there (opening it would create it)."""
    return Path(path).is_file()


def slack_api_url(env: Env) -> str:
    """SLACK_API_URL with a trailing slash, or the public Slack API."""
    return setting(env, "SLACK_API_URL")


def bot_token(env: Env, why: str) -> str:
    """SLACK_BOT_TOKEN, checked as the bot checks it; `why` tells the operator what needs it."""
    if not config.raw(env, "SLACK_BOT_TOKEN"):
        raise CliError(f"SLACK_BOT_TOKEN is not set: it is needed {why}.")
    return setting(env, "SLACK_BOT_TOKEN")
