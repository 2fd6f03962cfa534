"""Slack's side of the company directory: the extension field, people's values, every member.

`SlackProfiles` finds DIALER_EXTENSION_FIELD among the workspace's custom profile fields
(team.profile.get) and trusts it only when people cannot edit it themselves (protected, or
synced from the identity provider by SCIM); reads one person's value (users.profile.get, Tier
4); and walks every member (users.list, Tier 2, by cursor). Requests are paced and a 429's
Retry-After is waited out (the operator commands); the bot's own reads, which happen before an
ack, give up instead. `ConflictAlerts` DMs the admins when the directory can't be followed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.directory import Decision
from bot.services.directory_links import ProfileUnavailable
from bot.slack.replies import direct_message
from bot.slack.retry import describe, is_slack_unreachable
from bot.slack.text import directory as text

log = logging.getLogger(__name__)

#: users.profile.get is Tier 4 (100+ a minute): one request every 0.6 s stays inside it.
PROFILE_INTERVAL = 0.6
#: users.list is Tier 2 (20+ a minute).
PAGE_INTERVAL = 3.0
#: Members per users.list page (Slack suggests no more than 200).
PAGE_SIZE = 200
#: A Retry-After Slack sends is waited out at most this many times for one request.
RETRIES = 5
#: A Retry-After that is missing or unreadable: wait this long.
DEFAULT_RETRY_AFTER = 30.0


class FieldTrouble(StrEnum):
    """Why DIALER_EXTENSION_FIELD can't be used."""

    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"
    EDITABLE = "editable"
    REFUSED = "refused"  # Slack refused team.profile.get (`code`)
    UNREACHABLE = "unreachable"  # Slack could not be asked (`code` says how)


@dataclass(frozen=True)
class ProfileField:
    """A custom profile field: its id, label, and whether people are kept from editing it."""

    id: str
    label: str
    protected: bool
    scim: bool

    @property
    def locked(self) -> bool:
        """People cannot edit it themselves: only admins or the identity provider can."""
        return self.protected or self.scim


@dataclass(frozen=True)
class FieldProblem:
    """DIALER_EXTENSION_FIELD could not be used, and why."""

    trouble: FieldTrouble
    wanted: str
    code: str = ""
    field: ProfileField | None = None
    labels: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    def line(self) -> str:
        """The one line the operator reads."""
        if self.trouble == FieldTrouble.EDITABLE and self.field is not None:
            return text.field_editable(self.field.label, self.field.id)
        if self.trouble == FieldTrouble.AMBIGUOUS:
            return text.field_ambiguous(self.wanted, list(self.ids))
        if self.trouble == FieldTrouble.REFUSED:
            return text.field_refused(self.code)
        if self.trouble == FieldTrouble.UNREACHABLE:
            return text.field_unreachable(self.code)
        return text.field_not_found(self.wanted, list(self.labels))


@dataclass(frozen=True)
class Member:
    """One member from users.list: who, their name, and whether they can be linked at all."""

    user_id: str
    name: str
    active: bool
    human: bool


def _truthy(value: Any) -> bool:
    """Slack writes flags as true, 1 or "1"."""
    return value is True or value == 1 or value == "1" or value == "true"


def profile_field(definition: dict[str, Any]) -> ProfileField:
    """One of team.profile.get's field definitions, read as Slack documents it."""
    options = definition.get("options") or {}
    if not isinstance(options, dict):
        options = {}
    protected = _truthy(options.get("is_protected")) or _truthy(definition.get("is_protected"))
    scim = _truthy(options.get("is_scim")) or _truthy(definition.get("is_scim"))
    return ProfileField(
        str(definition.get("id") or ""), str(definition.get("label") or ""), protected, scim
    )


def pick_field(definitions: Iterable[dict[str, Any]], wanted: str) -> ProfileField | FieldProblem:
    """The field DIALER_EXTENSION_FIELD names (its id, or its label in any case), if trusted."""
    fields = [profile_field(d) for d in definitions if isinstance(d, dict)]
    by_id = [f for f in fields if f.id == wanted]
    named = by_id or [f for f in fields if f.label.strip().casefold() == wanted.casefold()]
    if not named:
        labels = tuple(f.label for f in fields if f.label)
        return FieldProblem(FieldTrouble.NOT_FOUND, wanted, labels=labels)
    if len(named) > 1:
        return FieldProblem(FieldTrouble.AMBIGUOUS, wanted, ids=tuple(f.id for f in named))
    field = named[0]
    if not field.locked:
        return FieldProblem(FieldTrouble.EDITABLE, wanted, field=field)
    return field


def field_value(profile: dict[str, Any] | None, field_id: str) -> str | None:
    """A field's value in a profile (users.profile.get, a user_change event's user.profile);
    None when the profile does not say (Slack sends `fields` as an object, [] or null)."""
    fields = (profile or {}).get("fields")
    if not isinstance(fields, dict):
        return None
    entry = fields.get(field_id)
    if entry is None:
        return None
    value = entry.get("value") if isinstance(entry, dict) else None
    return value.strip() if isinstance(value, str) else ""


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asks to wait when it answered 429; None for any other refusal."""
    response = error.response
    if getattr(response, "status_code", None) != 429 and response.get("error") != "ratelimited":
        return None
    headers = getattr(response, "headers", None) or {}
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return max(0.0, float(raw)) if raw is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


class Pace:
    """Keeps requests at least `interval` seconds apart (clock and sleep injectable)."""

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self.sleep = sleep
        self._next = 0.0

    async def wait(self) -> None:
        """Wait for this request's turn."""
        now = self._clock()
        if self._next > now:
            await self.sleep(self._next - now)
            now = self._clock()
        self._next = now + self.interval


class SlackProfiles:
    """The directory as Slack keeps it, through the bot's Web API client."""

    def __init__(
        self,
        client: AsyncWebClient,
        wanted: str,
        *,
        timeout: float,
        patient: bool = False,
        profile_pace: Pace | None = None,
        page_pace: Pace | None = None,
    ) -> None:
        self._client = client
        self.wanted = wanted
        self._timeout = timeout
        #: Wait out Retry-After (the operator commands); the bot gives up instead.
        self._patient = patient
        self._profile_pace = profile_pace or Pace(0.0)
        self._page_pace = page_pace or Pace(0.0)
        self._field: ProfileField | None = None

    async def _call(self, pace: Pace, method: Callable[..., Awaitable[Any]], **args: Any) -> Any:
        """One paced request; a 429 is waited out (patient) up to RETRIES times."""
        for attempt in range(RETRIES + 1):
            await pace.wait()
            try:
                async with asyncio.timeout(self._timeout):
                    return await method(**args)
            except SlackApiError as error:
                wait = retry_after(error)
                if wait is None or not self._patient or attempt == RETRIES:
                    raise
                log.info("Slack asked to slow down: waiting %gs", wait)
                await pace.sleep(wait)
        raise AssertionError("unreachable")

    async def field(self) -> ProfileField | FieldProblem:
        """DIALER_EXTENSION_FIELD's definition when it can be trusted, or why not."""
        if self._field is not None:
            return self._field
        try:
            answer = await self._call(self._page_pace, self._client.team_profile_get)
        except SlackApiError as error:
            code = str(error.response.get("error") or "refused")
            return FieldProblem(FieldTrouble.REFUSED, self.wanted, code)
        except Exception as error:
            if not is_slack_unreachable(error):
                raise
            return FieldProblem(FieldTrouble.UNREACHABLE, self.wanted, describe(error))
        definitions = ((answer.get("profile") or {}).get("fields")) or []
        found = pick_field(definitions, self.wanted)
        if isinstance(found, ProfileField):
            self._field = found
        return found

    async def extension_of(self, user_id: str) -> str:
        """A person's value in the field ("" when empty); raises ProfileUnavailable."""
        field = await self.field()
        if isinstance(field, FieldProblem):
            raise ProfileUnavailable(field.line())
        try:
            answer = await self._call(
                self._profile_pace, self._client.users_profile_get, user=user_id
            )
        except SlackApiError as error:
            raise ProfileUnavailable(describe(error)) from None
        except Exception as error:
            if not is_slack_unreachable(error):
                raise
            raise ProfileUnavailable(describe(error)) from None
        return field_value(answer.get("profile"), field.id) or ""

    async def members(self) -> AsyncIterator[Member]:
        """Every member of the workspace (users.list, page by page); bots are not human.

        Raises ProfileUnavailable when a page can't be read."""
        cursor = ""
        while True:
            args: dict[str, Any] = {"limit": PAGE_SIZE}
            if cursor:
                args["cursor"] = cursor
            try:
                page = await self._call(self._page_pace, self._client.users_list, **args)
            except SlackApiError as error:
                raise ProfileUnavailable(f"users.list: {describe(error)}") from None
            except Exception as error:
                if not is_slack_unreachable(error):
                    raise
                raise ProfileUnavailable(f"users.list: {describe(error)}") from None
            for user in page.get("members") or []:
                user_id = str(user.get("id") or "")
                if not user_id:
                    continue
                human = not (
                    user.get("is_bot") or user.get("is_app_user") or user_id == "USLACKBOT"
                )
                name = str(user.get("name") or user.get("real_name") or user_id)
                yield Member(user_id, name, not user.get("deleted"), human)
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return


class ConflictAlerts:
    """DMs each DIALER_ADMINS admin about a conflict with the directory (logged, never raised)."""

    def __init__(self, client: AsyncWebClient, admins: Iterable[str]) -> None:
        self._client = client
        self._admins = sorted(admins)

    async def __call__(self, decision: Decision) -> None:
        """Tell every admin; with none configured, the log line and Home are all there is."""
        words = text.conflict_alert(decision)
        for admin in self._admins:
            await direct_message(self._client, admin, words)
