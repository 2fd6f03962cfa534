"""Links that keep themselves: each person's extension read from the company directory.

When DIALER_EXTENSION_FIELD names a protected (or SCIM-managed) custom profile field, a person
without a link is linked from it the first time they dial, and Slack's user_change event keeps
the link in step. `DirectoryLinks` reads the field through `Profiles` (the Slack surface
provides it), keeps each answer for a few minutes (a dial reads Slack at most once per person
in that time), and decides and writes through the store's one atomic step
(bot.store.link_events). A conflict (a value the extension rule refuses, an extension someone
else holds, a hand-made link the directory disagrees with) changes nothing and is handed to
`on_conflict` (the admins' DM) once, when it opens. Answers are facts; the surface words them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.domain import extensions
from bot.domain.directory import Decision, Verdict
from bot.store import Link, StoreError
from bot.store.link_events import Followed
from bot.store.runner import StoreRunner

log = logging.getLogger(__name__)

#: How long a person's field value is trusted before Slack is asked again (a dial, not a key).
CACHE_SECONDS = 300.0


class ProfileUnavailable(Exception):
    """A person's field could not be read (Slack away, refused, or the field untrustworthy)."""


class Profiles(Protocol):
    """Reads a person's extension field from the directory (Slack's users.profile.get)."""

    async def extension_of(self, user_id: str) -> str:
        """The field's value ("" when empty); raises ProfileUnavailable when it can't be read."""


class DirectoryLinks:
    """Links people from the directory on first use and as their profile changes."""

    def __init__(
        self,
        db: StoreRunner,
        profiles: Profiles,
        *,
        region: str,
        on_conflict: Callable[[Decision], Awaitable[None]] | None = None,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self.profiles = profiles
        self._region = region
        self._on_conflict = on_conflict
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[str, float]] = {}
        self._background: set[asyncio.Task] = set()

    def rule(self, extension: str) -> extensions.Problem | None:
        """The one extension rule, for this workspace's region."""
        return extensions.linkable_problem(extension, self._region)

    async def value_of(self, user_id: str) -> str:
        """A person's field value, from the cache when fresh; raises ProfileUnavailable."""
        cached = self._cache.get(user_id)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        value = await self.profiles.extension_of(user_id)
        self._cache[user_id] = (value, self._clock() + self._ttl)
        return value

    def forget(self, user_id: str) -> None:
        """Drop a cached value (the profile changed)."""
        self._cache.pop(user_id, None)

    async def first_use(self, user_id: str) -> Link | Decision | None:
        """For someone without a link who dials: their new link, the conflict, or None (no
        value, or the directory could not be read: they are simply not linked)."""
        try:
            value = await self.value_of(user_id)
        except ProfileUnavailable as error:
            log.warning("could not read the directory extension of %s: %s", user_id, error)
            return None
        if not value:
            return None
        followed = await self.follow(user_id, value, active=True)
        decision = followed.decision
        if decision.verdict.conflict:
            return decision
        if decision.verdict in (Verdict.LINK, Verdict.CHANGE, Verdict.KEEP):
            return await self._db.run(self._db.store.links.get, user_id)
        return None

    async def follow(self, user_id: str, value: str, *, active: bool) -> Followed:
        """Decide and apply one person's verdict; tell the admins of a conflict that opened.

        Store errors (StoreBusy, StoreFailed) pass through unchanged.
        """
        store = self._db.store
        followed = await self._db.run(
            store.directory.follow, user_id, value, active=active, rule=self.rule
        )
        decision = followed.decision
        if decision.verdict.changes:
            log.info(
                "directory link %s user=%s extension=%s previous=%s",
                decision.verdict.value,
                user_id,
                decision.value or "-",
                decision.current.extension if decision.current else "-",
            )
        elif decision.verdict.conflict:
            log.warning(
                "directory conflict %s user=%s value=%s",
                decision.verdict.value,
                user_id,
                decision.value[:20],
            )
        if followed.new_conflict and self._on_conflict is not None:
            self._tell(decision)
        return followed

    async def profile_changed(self, user_id: str, *, deleted: bool, value: str | None) -> None:
        """Slack's user_change: follow the new value (read afresh when the event lacks it)."""
        self.forget(user_id)
        if not deleted and value is None:
            try:
                value = await self.value_of(user_id)
            except ProfileUnavailable as error:
                log.warning("user_change for %s not followed: %s", user_id, error)
                return
        try:
            await self.follow(user_id, value or "", active=not deleted)
        except StoreError as error:
            log.error("user_change for %s not followed: %s", user_id, error)

    def _tell(self, decision: Decision) -> None:
        """Tell the admins in the background: a dial's ack never waits for their DMs."""
        assert self._on_conflict is not None
        task = asyncio.create_task(self._on_conflict(decision))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
