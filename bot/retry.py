"""Waiting out a Slack that is away: the backoff schedule, and what counts as 'away'."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError

REASON_LIMIT = 200


class SlackUnreachable(Exception):
    """Slack's Web API could not be reached; the message is the sentence the user reads."""


#: What slack_sdk's aiohttp-based clients raise when Slack cannot be reached or is too slow.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    TimeoutError,
    ConnectionError,
)


def is_slack_unreachable(error: BaseException) -> bool:
    """True for a failure to reach Slack (not a refusal, not a bug)."""
    return isinstance(error, (SlackUnreachable, *UNREACHABLE_ERRORS))


def describe(error: BaseException) -> str:
    """A short, one-line reason for a log line: the error's type and its first line."""
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error') or error.response.status_code}"
    name = type(error).__name__
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, TimeoutError) and not text:
        text = "timed out"
    reason = f"{name}: {text}" if text else name
    return reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Backoff:
    """Waits that double from `first` up to `longest` seconds, then stay there.

    The schedule is the DIALER_SLACK_RETRY setting (Settings.slack_retry).
    """

    first: float
    longest: float

    def waits(self) -> Iterator[float]:
        """The wait before each next try, forever."""
        wait = self.first
        while True:
            yield wait
            wait = min(wait * 2, self.longest)
