"""Secrets never reach a log line, whoever logs them."""

from __future__ import annotations

import logging

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
