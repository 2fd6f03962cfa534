"""Slack's directory of people: who has an email address (users.lookupByEmail), asked once here.

`SlackDirectory` is the linking service's `Directory`: `/dial-link alice@example.com 309` and
`links import` both find people through it, with the time limit their caller can afford.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.linking import EmailProblem, EmailTrouble
from bot.slack.retry import describe, is_slack_unreachable

log = logging.getLogger(__name__)

#: Slack's answers for an address no account has.
NOT_FOUND = frozenset({"users_not_found", "user_not_found"})


class SlackDirectory:
    """Looks people up by email address through the bot's Web API client."""

    def __init__(self, client: AsyncWebClient, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout

    async def user_for_email(self, email: str) -> str | EmailProblem:
        """The user ID of the active, human account with this address; or why not."""
        try:
            async with asyncio.timeout(self._timeout):
                found = await self._client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            code = str(error.response.get("error") or "refused")
            if code in NOT_FOUND:
                return EmailProblem(email, EmailTrouble.NO_ONE)
            log.warning("users.lookupByEmail failed: %s", code)
            return EmailProblem(email, EmailTrouble.REFUSED, code)
        except Exception as error:
            log.warning("users.lookupByEmail unreachable: %s", type(error).__name__)
            trouble = (
                EmailTrouble.UNREACHABLE if is_slack_unreachable(error) else EmailTrouble.REFUSED
            )
            return EmailProblem(email, trouble, describe(error))
        user = found.get("user") or {}
        if user.get("deleted"):
            return EmailProblem(email, EmailTrouble.DEACTIVATED)
        if user.get("is_bot"):
            return EmailProblem(email, EmailTrouble.BOT)
        return str(user["id"])
