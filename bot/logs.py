"""Logging set-up that scrubs every secret from every line, whatever logged it."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

REDACTED = "[redacted]"


class SecretScrubber(logging.Filter):
    """Replaces known secret values in a record's final message before any handler sees it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s and len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message, self._secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self._secrets)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Text with every secret value replaced by [redacted]."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def configure(secrets: Iterable[str], level: int = logging.INFO) -> None:
    """One line per event on stderr, secrets scrubbed on every handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretScrubber(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Slack's clients log request bodies and headers at DEBUG; keep them out of INFO runs.
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
