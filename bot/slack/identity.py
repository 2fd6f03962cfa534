"""Who the bot is in Slack (auth.test): learned once, retried in the background, never per request.

Bolt's single-workspace authorization calls auth.test on the first request and fails every
request (HTTP 500) while Slack's Web API cannot be reached, although an ack needs no Web API.
Bolt's `authorize=` answers `SlackIdentity.result_for` instead: what start-up learned, or the
bare token until Slack has answered.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.backoff import Backoff
from bot.slack.retry import UNREACHABLE_ERRORS, describe

log = logging.getLogger(__name__)

#: One try at auth.test gives up after this long: start-up must not hang on a silent network.
TRY_SECONDS = 5.0


class TokenRefused(Exception):
    """Slack answered auth.test and refused the bot token; the message is Slack's error code."""


@dataclass(frozen=True)
class Workspace:
    """Where the bot is installed: its team, its Grid org if any, and whether org-wide."""

    team_id: str
    enterprise_id: str
    org_wide: bool


class SlackIdentity:
    """The bot's team, user and bot IDs from auth.test, for Bolt's `authorize=`."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._token = client.token or ""
        self._auth: dict | None = None

    @property
    def known(self) -> bool:
        """True once Slack has answered auth.test."""
        return self._auth is not None

    @property
    def workspace(self) -> Workspace | None:
        """The workspace (or org) auth.test named, or None while it is not known."""
        auth = self._auth or {}
        team_id, enterprise_id = auth.get("team_id") or "", auth.get("enterprise_id") or ""
        org_wide = bool(auth.get("is_enterprise_install"))
        if not (enterprise_id if org_wide else team_id):
            return None
        return Workspace(team_id, enterprise_id, org_wide)

    async def learn_workspace(self) -> Workspace | None:
        """The workspace, asking auth.test once now when start-up could not; None if unknown.

        For a check that needs it on the spot (who counts as this workspace's admin): the
        background retry may not have got through yet while Slack already answers again.
        """
        if self.workspace is None:
            try:
                reason = await self.try_once()
            except TokenRefused as refused:
                log.warning("Slack refused SLACK_BOT_TOKEN (%s) when asked who the bot is", refused)
                return None
            if reason is not None:
                log.warning("could not reach Slack to learn the bot's identity (%s)", reason)
        return self.workspace

    def result_for(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        """What Bolt's authorize answers: the bot token, with the bot's IDs once known."""
        auth = self._auth or {}
        return AuthorizeResult(
            enterprise_id=enterprise_id or auth.get("enterprise_id"),
            team_id=team_id or auth.get("team_id"),
            user_id=user_id,
            bot_token=self._token,
            bot_id=auth.get("bot_id"),
            bot_user_id=auth.get("user_id"),
        )

    async def try_once(self) -> str | None:
        """Ask auth.test once: None when learned, else why Slack could not be reached.

        Raises TokenRefused when Slack answers and refuses the token.
        """
        try:
            async with asyncio.timeout(TRY_SECONDS):
                auth = await self._client.auth_test()
        except SlackApiError as error:
            raise TokenRefused(str(error.response.get("error") or "refused")) from None
        except UNREACHABLE_ERRORS as error:
            return describe(error)
        self._auth = dict(auth.data) if isinstance(auth.data, dict) else {}
        log.info("connected to Slack workspace %s as %s", auth.get("team"), auth.get("user"))
        return None

    async def keep_trying(self, reason: str, backoff: Backoff) -> None:
        """Retry auth.test with backoff until Slack answers; one log line per failed try."""
        problem = f"could not reach Slack to learn the bot's identity ({reason})"
        for wait in backoff.waits():
            log.warning("%s; next try in %gs", problem, wait)
            await asyncio.sleep(wait)
            try:
                found = await self.try_once()
            except TokenRefused as refused:
                problem = f"Slack refused SLACK_BOT_TOKEN ({refused}) when asked who the bot is"
                continue
            if found is None:
                return
            problem = f"could not reach Slack to learn the bot's identity ({found})"


async def learn_identity(identity: SlackIdentity, backoff: Backoff) -> asyncio.Task | None:
    """Learn who the bot is; if Slack is away, keep asking in the background (a task).

    Raises TokenRefused at once when Slack answers and refuses the bot token.
    """
    reason = await identity.try_once()
    if reason is None:
        return None
    return asyncio.create_task(identity.keep_trying(reason, backoff))


async def who_am_i(client: AsyncWebClient) -> dict:
    """auth.test's answer for the client's token; TokenRefused when Slack refuses the token."""
    try:
        auth = await client.auth_test()
    except SlackApiError as error:
        raise TokenRefused(str(error.response.get("error") or "refused")) from None
    return dict(auth.data) if isinstance(auth.data, dict) else {}
