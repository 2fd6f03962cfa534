"""Secrets never reach a log line, whoever logs them; every event is one line, text or JSON."""

from __future__ import annotations

import json
import logging

import pytest

from bot import logs
from bot.config import SettingsError, load_settings
from bot.logs import SecretScrubber


def test_scrubber_removes_secrets_from_messages_args_and_tracebacks() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(SecretScrubber(["pbx-SECRET-1", "xoxb-secret-2"]))
    logger = logging.getLogger("test.scrub")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("key=%s token=%s", "pbx-SECRET-1", "xoxb-secret-2")
        try:
            raise RuntimeError("failed with pbx-SECRET-1")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "pbx-SECRET-1" not in text and "xoxb-secret-2" not in text
    assert text.count("[redacted]") >= 3


def test_socket_mode_tickets_and_token_shaped_text_are_scrubbed_without_being_known() -> None:
    url = "wss://wss-primary.slack.com/link/?ticket=8a1c2e3f-77aa-4bcd-9e0f-123456789abc&app_id=A1"
    record = logging.LogRecord(
        "slack_sdk.socket_mode", logging.WARNING, __file__, 1,
        "handshake refused: url=%r; also xapp-1-A0123-4567-abcdef and xoxb-1234-5678-abcd",
        (url,), None,
    )  # fmt: skip
    SecretScrubber([]).filter(record)
    message = record.getMessage()
    assert "8a1c2e3f" not in message and "ticket=[redacted]&app_id=A1" in message
    assert "xapp-1-A0123" not in message and "xoxb-1234" not in message
    assert message.count("[redacted]") == 3
    # Words that merely name a token's kind stay readable.
    assert logs.scrub("the bot token (xoxb-…) or an xapp- token", []) == (
        "the bot token (xoxb-…) or an xapp- token"
    )


# --- one line per event, text or JSON ---------------------------------------------------------

SECRETS = ("pbx-SECRET-1", "xoxb-secret-2")
FORGED = "hello\n2030-01-01 00:00:00,000 ERROR bot: forged\r\x1b[2J\u2028end"


def emit(formatter: logging.Formatter, *, exc: bool = False, **extra: object) -> str:
    """Format one record carrying request data the way the bot's handler would."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(formatter)
    handler.addFilter(logs.BoltSuggestionTrimmer())
    handler.addFilter(logs.SecretScrubber(SECRETS))
    logger = logging.getLogger("test.format")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc:
            try:
                raise ValueError(f"bad value {SECRETS[0]}\nsecond line")
            except ValueError:
                logger.exception("user said %r", FORGED, extra=extra)
        else:
            logger.warning("user said %s", FORGED, extra=extra)
    finally:
        logger.removeHandler(handler)
    [text] = records
    return text


def test_text_lines_escape_every_line_break_and_control_character() -> None:
    text = emit(logs.TextFormatter())
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u2028" not in text
    assert text.endswith(
        r"user said hello\n2030-01-01 00:00:00,000 ERROR bot: forged\r\x1b[2J\u2028end"
    )
    assert " WARNING test.format: " in text


def test_text_tracebacks_are_indented_so_only_the_first_line_starts_a_record() -> None:
    first, *rest = emit(logs.TextFormatter(), exc=True).split("\n")
    assert " ERROR test.format: user said " in first
    assert rest and all(line.startswith(logs.INDENT) for line in rest), rest
    assert any("Traceback" in line for line in rest)
    assert any("second line" in line for line in rest)  # the exception's own newline, indented
    assert SECRETS[0] not in "\n".join(rest) and logs.REDACTED in "\n".join(rest)


def test_json_lines_carry_the_extra_fields_and_no_raw_line_break() -> None:
    line = emit(logs.JsonFormatter(), outcome="placed", status=200, token=SECRETS[1], odd={1, 2})
    assert "\n" not in line and "\u2028" not in line
    record = json.loads(line)
    assert record["message"] == "user said " + FORGED  # escaped by JSON, not mangled
    assert (record["level"], record["logger"]) == ("WARNING", "test.format")
    assert (record["outcome"], record["status"]) == ("placed", 200)
    assert record["token"] == logs.REDACTED  # scrubbing applies to fields too
    assert record["odd"] == "{1, 2}"  # anything JSON cannot hold is shown as text
    assert record["time"].endswith("+00:00")


def test_json_tracebacks_are_one_field_and_scrubbed() -> None:
    record = json.loads(emit(logs.JsonFormatter(), exc=True))
    assert "Traceback" in record["exc_info"] and "second line" in record["exc_info"]
    assert SECRETS[0] not in json.dumps(record)


def test_bolt_suggestions_are_trimmed_to_the_first_line() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logs.TextFormatter())
    handler.addFilter(logs.BoltSuggestionTrimmer())
    logger = logging.getLogger("slack_bolt.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Unhandled request ({'type': None})\n---\n[Suggestion] You can...\n\ncode")
    finally:
        logger.removeHandler(handler)
    assert records[0].endswith("slack_bolt.test: Unhandled request ({'type': None})")


@pytest.mark.usefixtures("restore_logging")
def test_configure_sets_level_and_format_and_keeps_libraries_at_warning() -> None:
    logs.configure(SECRETS, "DEBUG", "json")
    root = logging.getLogger()
    assert root.level == logging.DEBUG
    assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
    assert logging.getLogger("slack_bolt").level == logging.WARNING
    logs.configure(SECRETS, "ERROR", "text")
    assert logging.getLogger().level == logging.ERROR
    assert isinstance(logging.getLogger().handlers[0].formatter, logs.TextFormatter)
    assert logging.getLogger("slack_sdk").level == logging.ERROR


BASE_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-unit-test-0000",
    "SLACK_SIGNING_SECRET": "secret",
    "WEBFONES_API_KEY": "key-0000",
}


def test_log_settings_default_to_info_text_and_accept_any_case() -> None:
    settings = load_settings(BASE_ENV)
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    settings = load_settings({**BASE_ENV, "DIALER_LOG_LEVEL": "debug", "DIALER_LOG_FORMAT": "JSON"})
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")


@pytest.mark.parametrize(
    ("name", "value"), [("DIALER_LOG_LEVEL", "LOUD"), ("DIALER_LOG_FORMAT", "xml")]
)
def test_a_log_setting_outside_its_choices_is_named(name: str, value: str) -> None:
    with pytest.raises(
        SettingsError, match=f"^{name} is '{value}': it should be (one of |text or json)"
    ):
        load_settings({**BASE_ENV, name: value})
