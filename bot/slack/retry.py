"""What counts as Slack being away, and how a failure to reach it is described in a log line."""

from __future__ import annotations

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
