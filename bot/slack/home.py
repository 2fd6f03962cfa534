"""Publishing the App Home tab: built from the store, refreshed after every call."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import outcomes
from bot.domain.outcomes import Kind
from bot.metrics import slack_call_failed
from bot.services.dialing import Answer
from bot.services.receipts import TOP_EXTENSIONS, WEEK_DAYS
from bot.slack import views
from bot.slack.admins import AdminDirectory
from bot.slack.replies import words
from bot.slack.retry import SlackUnreachable
from bot.store import StoreBusy, StoreFailed
from bot.store.runner import StoreRunner

log = logging.getLogger(__name__)

#: What counts as a failure on the admin's Home: the PBX's, the bot's own, and restarts.
FAILURE_OUTCOMES = outcomes.of_kind(Kind.FAILURE)


class HomePublisher:
    """Builds and publishes a user's Home tab; failures are logged, never raised."""

    def __init__(self, client: AsyncWebClient, db: StoreRunner, admins: AdminDirectory) -> None:
        self._client = client
        self._db = db
        self._admins = admins
        self._banners: dict[str, str] = {}
        # Who has seen Home since start-up: only their tabs are worth refreshing after a call
        # (a views.publish per dial for everyone would spend Slack's rate limit for nothing).
        self._viewers: set[str] = set()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def view_for(self, user_id: str) -> dict:
        """The Home view this user should see now."""
        store = self._db.store
        link = await self._db.run(store.links.get, user_id)
        calls = await self._db.run(store.calls.recent, user_id=user_id, limit=10)
        admin = None
        try:
            is_admin = await self._admins.is_admin(user_id)
        except SlackUnreachable:  # views.publish may still get through: show the user's part
            is_admin = False
        if is_admin:
            admin = views.AdminSummary(
                linked_users=await self._db.run(store.links.count),
                recent_failures=await self._db.run(
                    store.calls.recent_with_outcomes, FAILURE_OUTCOMES, limit=5
                ),
                didnt_ring=await self._db.run(
                    store.answers.top_didnt_ring, days=WEEK_DAYS, limit=TOP_EXTENSIONS
                ),
                open_conflicts=await self._db.run(store.directory.conflict_count),
            )
        return views.home_view(link, calls, banner=self._banners.get(user_id), admin=admin)

    async def publish(self, user_id: str, banner: str | None = None) -> None:
        """Publish (or refresh) the user's Home tab, with a status line when given."""
        if banner is not None:
            self._banners[user_id] = banner
        self._viewers.add(user_id)
        async with self._locks[user_id]:
            try:
                view = await self.view_for(user_id)
                await self._client.views_publish(user_id=user_id, view=view)
            except (StoreBusy, StoreFailed) as error:
                log.warning("could not publish Home for %s: %s", user_id, error)
            except Exception as error:
                slack_call_failed("views.publish")
                log.warning("could not publish Home for %s: %s", user_id, type(error).__name__)

    async def opened(self, user_id: str) -> None:
        """The user opened Home: show it fresh, without an old status line."""
        self._banners.pop(user_id, None)
        await self.publish(user_id)

    async def link_changed(self, user_id: str) -> None:
        """A link of theirs changed: drop the stale status line, and show Home fresh if seen."""
        # The stale line is, say, "I've asked @admin to link you…" beside "Your extension is 313".
        self._banners.pop(user_id, None)
        if user_id in self._viewers:
            await self.publish(user_id)

    async def call_finished(self, user_id: str, answer: Answer) -> None:
        """Refresh after a call; a call started from Home shows its outcome there."""
        if user_id not in self._viewers:
            return
        banner = words(answer) if user_id in self._banners else None
        await self.publish(user_id, banner)

    async def refresh(self, user_id: str, banner: str | None = None) -> None:
        """Refresh Home after a change it shows (an answer), if the user has opened it."""
        if user_id in self._viewers:
            await self.publish(user_id, banner)
