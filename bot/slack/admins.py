"""Who may change links: DIALER_ADMINS, or this workspace's own admins and owners (cached briefly).

Slack's users.info says `is_admin` of anyone it describes, including people of another team or
Enterprise Grid org (seen through a shared channel), external strangers, guests and bots. A link
lets its holder ring any extension, so an admin here is a member of the bot's own workspace (or
its org, when installed org-wide), not a guest, stranger or bot, and not deactivated. Who the
bot's workspace is comes from auth.test (bot.slack.identity); while that is unknown, only
DIALER_ADMINS are admins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.identity import SlackIdentity, Workspace
from bot.slack.retry import SlackUnreachable, describe
from bot.slack.text import admins as admin_text

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0
#: users.info happens before an ack: past this, deny (fail closed) rather than miss Slack's 3 s.
LOOKUP_SECONDS = 1.5


class Standing(Enum):
    """What a user is to the dialer; true only for ADMIN, so `if await is_admin(...)` reads."""

    ADMIN = "admin"  # in DIALER_ADMINS, or an admin or owner of this workspace
    MEMBER = "member"  # not an admin (or deactivated, or unknown to Slack)
    OUTSIDER = "outsider"  # Slack says admin, but a guest, stranger, bot or of another team/org
    UNCONFIRMED = "unconfirmed"  # Slack says admin, but the bot's own workspace is not known yet

    def __bool__(self) -> bool:
        """Whether this standing may change links."""
        return self is Standing.ADMIN


def refusal(standing: object, configured: Iterable[str], *, viewing: bool = False) -> str:
    """The sentence for someone refused admin work (viewing: list or log) for their standing."""
    if standing is Standing.OUTSIDER:
        return admin_text.not_of_this_workspace(viewing=viewing)
    if standing is Standing.UNCONFIRMED:
        return admin_text.workspace_unknown()
    return admin_text.not_admin(configured, viewing=viewing)


def _flagged(user: dict[str, Any], home: Workspace | None) -> bool:
    """Whether Slack calls the user an admin or owner (of the org, for an org-wide install)."""
    flags = ("is_admin", "is_owner", "is_primary_owner")
    grid = user.get("enterprise_user") or {}
    org = home is not None and home.org_wide and any(grid.get(flag) for flag in flags)
    return not user.get("deleted") and (org or any(user.get(flag) for flag in flags))


def _foreign(user: dict[str, Any]) -> bool:
    """A guest, an external stranger or a bot: never an admin here, whatever Slack flags."""
    kinds = ("is_restricted", "is_ultra_restricted", "is_stranger", "is_bot")
    return user.get("id") == "USLACKBOT" or any(user.get(kind) for kind in kinds)


def belongs(user: dict[str, Any], home: Workspace) -> bool:
    """Whether a users.info user is a member of the bot's workspace (or org, org-wide)."""
    grid = user.get("enterprise_user") or {}
    enterprise = user.get("enterprise_id") or grid.get("enterprise_id") or ""
    if home.org_wide:
        return bool(home.enterprise_id) and enterprise == home.enterprise_id
    if enterprise and enterprise != home.enterprise_id:
        return False
    teams = {user.get("team_id"), *(grid.get("teams") or [])}
    return home.team_id in teams


class AdminDirectory:
    """Answers 'is this user an admin?' from settings first, then users.info, cached."""

    def __init__(
        self,
        configured: frozenset[str],
        client: AsyncWebClient,
        *,
        identity: SlackIdentity,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configured = configured
        self._client = client
        self._identity = identity
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[Standing, float]] = {}

    async def is_admin(self, user_id: str) -> Standing:
        """ADMIN for DIALER_ADMINS and for this workspace's admins, owners and primary owners.

        Anyone else gets why not (true only for ADMIN). Raises SlackUnreachable (with the
        sentence for the user) when only Slack could say and Slack cannot be reached: "not an
        admin" would be the wrong answer.
        """
        if user_id in self.configured:
            return Standing.ADMIN
        cached = self._cache.get(user_id)
        if cached and cached[1] > self._clock():
            return cached[0]
        deadline = asyncio.get_running_loop().time() + LOOKUP_SECONDS
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
            return Standing.MEMBER
        except Exception as error:  # network trouble: nothing is decided, nothing cached
            log.warning("users.info unreachable for %s: %s", user_id, describe(error))
            raise SlackUnreachable(admin_text.slack_unreachable_admin_check()) from None
        user = response.get("user") or {}
        home = self._identity.workspace
        if not _flagged(user, home):
            standing = Standing.MEMBER
        elif _foreign(user):
            standing = Standing.OUTSIDER
        else:
            if home is None:
                home = await self._learn_workspace(deadline)
            if home is None:
                log.warning("%s is a Slack admin, but this workspace isn't known yet", user_id)
                return Standing.UNCONFIRMED  # not cached: auth.test may answer next time
            standing = Standing.ADMIN if belongs(user, home) else Standing.OUTSIDER
        if standing is Standing.OUTSIDER:
            log.warning(
                "%s is a Slack admin but not of this workspace (team %s, enterprise %s); refused",
                user_id,
                user.get("team_id") or "-",
                user.get("enterprise_id") or "-",
            )
        self._cache[user_id] = (standing, self._clock() + self._ttl)
        return standing

    async def _learn_workspace(self, deadline: float) -> Workspace | None:
        """The bot's workspace, asking auth.test now if need be, within the lookup's time."""
        try:
            async with asyncio.timeout_at(deadline):
                return await self._identity.learn_workspace()
        except TimeoutError:
            log.warning("auth.test did not answer in time to confirm this workspace")
            return None
