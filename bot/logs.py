"""Logging set-up: one line per event, as text or JSON, every secret scrubbed, whoever logged it."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

REDACTED = "[redacted]"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Continuation lines (a traceback) start with this, so only a record's first line is flush left.
INDENT = "    "

#: Everything a terminal or a log shipper could take for a line break or a control sequence.
_CONTROLS = {
    code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if code != 0x09
}
_CONTROLS.update({0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})

#: Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


#: Secrets recognised by their shape, whoever logged them: Slack tokens (xoxb-, xapp-, …) and
#: the one-time ticket in a Socket Mode WebSocket URL (`wss://…?ticket=…`).
_SHAPED_SECRETS = re.compile(
    r"\bxox[abposre]-[A-Za-z0-9-]{6,}|\bxapp-[A-Za-z0-9-]{6,}|\bxwfp-[A-Za-z0-9-]{6,}"
    r"|(?<=[?&]ticket=)[^&\s'\"<>]+"
)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Text with every secret value, and anything shaped like a Slack secret, [redacted]."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _SHAPED_SECRETS.sub(REDACTED, text)


def one_line(text: str) -> str:
    """Text with line breaks and control characters escaped, so it cannot forge a log line."""
    return text.translate(_CONTROLS)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a caller passed with `extra=`."""
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and k[:1] != "_"}


class SecretScrubber(logging.Filter):
    """Replaces known secret values in everything a record will print, before any formatter."""

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
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, self._secrets)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        for key, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, scrub(value, self._secrets))
        return True


class BoltSuggestionTrimmer(logging.Filter):
    """Drops the sample listener code Bolt appends to 'Unhandled request' (a dozen lines)."""

    MARKER = "\n---\n[Suggestion]"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("slack_bolt"):
            message = record.getMessage()
            if self.MARKER in message:
                record.msg, record.args = message.split(self.MARKER, 1)[0], None
        return True


class ClientErrorQuieter(logging.Filter):
    """aiohttp's server logs a malformed request with a traceback: make it one short line.

    What a client sent is not a bug here: a request aiohttp could not parse (a bare LF in a
    header, a 10 KB request line) is answered 400 by aiohttp and logged here as one WARNING
    line naming the problem, without a traceback. Errors from the bot's own handlers keep theirs.
    """

    LOGGER = "aiohttp.server"
    SHOWN_CHARS = 120

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.name != self.LOGGER or not isinstance(error, HttpProcessingError):
            return True
        # Only aiohttp's words: what follows a colon is the client's bytes, never shown.
        reason = one_line(str(error.message or type(error).__name__).split(":", 1)[0])
        if len(reason) > self.SHOWN_CHARS:
            reason = reason[: self.SHOWN_CHARS - 1] + "…"
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
        record.msg = "refused a malformed HTTP request (%s, from %s)"
        record.args = (reason, remote or "an unknown address")
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message` on one line; a traceback follows on indented lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        details = [text for text in (_exception_text(self, record), record.stack_info) if text]
        for text in details:
            line += "".join(f"\n{INDENT}{one_line(part)}" for part in text.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the `extra=` fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, value)
        exception = _exception_text(self, record)
        if exception:
            entry["exc_info"] = exception
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        # ensure_ascii: no raw line break of any kind (U+2028 included) survives encoding.
        return json.dumps(entry, ensure_ascii=True, default=str)


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or ""


def configure(secrets: Iterable[str], level: str = "INFO", fmt: str = "text") -> None:
    """One line per event on stderr in `fmt` (text or json), secrets scrubbed on every handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(BoltSuggestionTrimmer())
    handler.addFilter(ClientErrorQuieter())  # before the scrubber, which formats tracebacks
    handler.addFilter(SecretScrubber(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    # Slack's clients log request bodies and headers at DEBUG, and Bolt logs the body of
    # every request that fails verification at INFO: keep them to warnings at any level.
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
    logging.captureWarnings(True)  # Python's warnings go through the same handler and format
    sys.excepthook = _log_crash


def _log_crash(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """An exception nobody caught is a bug: log it, traceback included, in the chosen format."""
    logging.getLogger("bot").critical(
        "crashed: %s", kind.__name__, exc_info=(kind, error, traceback)
    )
