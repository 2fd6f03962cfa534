"""What the operator commands share: the few settings they read, and how they fail."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler

from bot.config import DEFAULT_SLACK_API_URL
from bot.logs import scrub
from bot.store import Store

Env = Mapping[str, str]

SECRET_NAMES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "WEBFONES_API_KEY")
SLACK_TIMEOUT_SECONDS = 15


class CliError(Exception):
    """The command cannot go on; the message is the one line the operator sees (exit 2)."""


def setting(env: Env, name: str) -> str:
    """One setting's value, stripped; empty when unset."""
    return (env.get(name) or "").strip()


def secrets(env: Env) -> tuple[str, ...]:
    """Every secret value in the environment, for scrubbing anything printed."""
    return tuple(value for name in SECRET_NAMES if len(value := setting(env, name)) >= 4)


def safe(text: str, env: Env) -> str:
    """Text with every secret from the environment replaced by [redacted]."""
    return scrub(text, secrets(env))


def db_path(env: Env) -> str:
    """DIALER_DB, defaulting to dialer.db in the working directory, as the bot does."""
    return setting(env, "DIALER_DB") or "dialer.db"


def open_store(path: str) -> Store:
    """Open (and migrate) the SQLite file, or explain in one line why not."""
    try:
        return Store(path)
    except (sqlite3.Error, OSError) as error:
        raise CliError(f"DIALER_DB {path!r} cannot be opened: {error}.") from None


def db_exists(path: str) -> bool:
    """Whether the database file is already there (opening it would create it)."""
    return Path(path).is_file()


def slack_api_url(env: Env) -> str:
    """SLACK_API_URL with a trailing slash, or the public Slack API."""
    value = setting(env, "SLACK_API_URL") or DEFAULT_SLACK_API_URL
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"SLACK_API_URL is not a URL: it should look like {DEFAULT_SLACK_API_URL}.")
    return value.rstrip("/") + "/"


def bot_token(env: Env, why: str) -> str:
    """SLACK_BOT_TOKEN, checked for shape; `why` tells the operator what needs it."""
    token = setting(env, "SLACK_BOT_TOKEN")
    if not token:
        raise CliError(f"SLACK_BOT_TOKEN is not set: it is needed {why}.")
    if not token.startswith("xoxb-") or len(token) < 9:
        raise CliError("SLACK_BOT_TOKEN does not look right: it should be a bot token (xoxb-…).")
    return token


def slack_client(token: str, base_url: str) -> WebClient:
    """A synchronous Slack Web API client that waits out rate limits a few times."""
    client = WebClient(token=token, base_url=base_url, timeout=SLACK_TIMEOUT_SECONDS)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client
