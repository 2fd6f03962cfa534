"""Who may change links: DIALER_ADMINS, or the workspace's admins and owners (cached briefly)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.retry import SlackUnreachable, describe
from bot.slack.text import admins as admin_text

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0
#: users.info happens before an ack: past this, deny (fail closed) rather than miss Slack's 3 s.
LOOKUP_SECONDS = 1.5


class AdminDirectory:
    """Answers 'is this user an admin?' from settings first, then users.info, cached."""

    def __init__(
        self,
        configured: frozenset[str],
        client: AsyncWebClient,
        *,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configured = configured
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}

    async def is_admin(self, user_id: str) -> bool:
        """True for DIALER_ADMINS and for workspace admins, owners and primary owners.

        Raises SlackUnreachable (with the sentence for the user) when only Slack could say
        and Slack cannot be reached: "not an admin" would be the wrong answer.
        """
        if user_id in self.configured:
            return True
        cached = self._cache.get(user_id)
        if cached and cached[1] > self._clock():
            return cached[0]
        try:
            async with asyncio.timeout(LOOKUP_SECONDS):
                response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
            return False
        except Exception as error:  # network trouble: nothing is decided, nothing cached
            log.warning("users.info unreachable for %s: %s", user_id, describe(error))
            raise SlackUnreachable(admin_text.slack_unreachable_admin_check()) from None
        user = response.get("user") or {}
        verdict = bool(
            not user.get("deleted")
            and (user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        )
        self._cache[user_id] = (verdict, self._clock() + self._ttl)
        return verdict
