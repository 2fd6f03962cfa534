"""The one linking sequence every way to link shares: who, the extension rule, the link, who else.

`/dial-link`, the link form, link requests and `links import` all link through `LinkService`:
an email address is looked up once (through a `Directory`, which the Slack surface provides),
the extension is checked by the one rule (bot.domain.extensions), the link is written, and the
answer says what it replaced and who else shares the extension. The answers are facts; the
surface that shows them words them. Store errors (StoreBusy, StoreFailed) are the caller's to
word: they pass through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.domain import extensions
from bot.domain.extensions import Problem
from bot.store import CallRecord, Link
from bot.store.runner import StoreRunner


class EmailTrouble(StrEnum):
    """Why an email address did not give a person to link."""

    NO_ONE = "no_one"  # no account has it
    DEACTIVATED = "deactivated"  # a deactivated account has it
    BOT = "bot"  # a bot has it
    REFUSED = "refused"  # Slack refused the lookup itself (`code` says why)
    UNREACHABLE = "unreachable"  # Slack could not be reached (`code` says how)


@dataclass(frozen=True)
class EmailProblem:
    """An email address that could not be turned into a person, and why."""

    email: str
    trouble: EmailTrouble
    #: Slack's error code (REFUSED) or a short reason (UNREACHABLE).
    code: str = ""


class Directory(Protocol):
    """Finds the person who has an email address (Slack's users.lookupByEmail)."""

    async def user_for_email(self, email: str) -> str | EmailProblem:
        """The user ID of the active, human account with this address; or why not."""


@dataclass(frozen=True)
class Linked:
    """A link was made or changed: to whom, which extension, what it replaced, who else has it."""

    user_id: str
    extension: str
    previous: Link | None
    others: list[str]


class LinkService:
    """Links Slack users to extensions by the one rule, and answers what changed."""

    def __init__(self, db: StoreRunner, *, region: str, directory: Directory | None = None):
        self._db = db
        self._links = db.store.links
        self._region = region
        self._directory = directory

    async def user_for_email(self, email: str) -> str | EmailProblem:
        """The person with this email address, or why there is none (the one email lookup)."""
        if self._directory is None:
            return EmailProblem(email, EmailTrouble.UNREACHABLE, "no Slack client")
        return await self._directory.user_for_email(email)

    def problem(self, extension: str) -> Problem | None:
        """Why digits can't be linked as an extension here, or None (the one rule)."""
        return extensions.linkable_problem(extension, self._region)

    async def link(self, user_id: str, extension: str, linked_by: str) -> Linked | Problem:
        """Link (or re-link) a person, unless the rule refuses the extension."""
        problem = self.problem(extension)
        if problem is not None:
            return problem
        previous = await self._db.run(self._links.set, user_id, extension, linked_by)
        holders = await self._db.run(self._links.users_with, extension)
        others = [other for other in holders if other != user_id]
        return Linked(user_id, extension, previous, others)

    async def unlink(self, user_id: str) -> Link | None:
        """Remove a person's link; answer the link removed, or None when there was none."""
        return await self._db.run(self._links.remove, user_id)

    async def link_of(self, user_id: str) -> Link | None:
        """A person's link, if any."""
        return await self._db.run(self._links.get, user_id)

    async def everyone(self) -> list[Link]:
        """Every link, by extension."""
        return await self._db.run(self._links.all)

    async def call_log(self, user_id: str | None, limit: int) -> list[CallRecord]:
        """The newest audit rows, optionally of one person."""
        return await self._db.run(self._db.store.calls.recent, user_id=user_id, limit=limit)
