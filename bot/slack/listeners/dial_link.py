"""`/dial-link`: admins link Slack users to extensions; anyone sees their own."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.domain import extensions
from bot.domain.ids import MENTION
from bot.slack import messages
from bot.slack.admins import LOOKUP_SECONDS, AdminDirectory
from bot.slack.retry import is_slack_unreachable
from bot.store import StoreBusy, StoreFailed
from bot.store.runner import StoreRunner

EMAIL = re.compile(r"^(?:<mailto:)?([^\s<>|@]+@[^\s<>|@]+\.[^\s<>|@]+)(?:\|[^>]*)?>?$")
LOG_LIMIT = 20

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkCommand:
    """A parsed /dial-link: what to do, to whom, with which extension."""

    action: str  # show, help, list, log, link, remove, invalid
    user_id: str | None = None
    extension: str | None = None
    problem: str | None = None
    email: str | None = None


def parse(text: str) -> LinkCommand:
    """Read the words of a /dial-link command."""
    words = text.split()
    if not words:
        return LinkCommand("show")
    head = words[0].lower()
    if head in ("help", "?") and len(words) == 1:
        return LinkCommand("help")
    if head == "list" and len(words) == 1:
        return LinkCommand("list")
    if head == "log" and len(words) <= 2:
        user = MENTION.fullmatch(words[1]) if len(words) == 2 else None
        if len(words) == 2 and not user:
            return LinkCommand("invalid", problem=messages.link_not_understood(text))
        return LinkCommand("log", user_id=user[1] if user else None)
    mention = MENTION.fullmatch(words[0])
    email = None if mention else EMAIL.match(words[0])
    if not (mention or email) or len(words) != 2:
        return LinkCommand("invalid", problem=messages.link_not_understood(text))
    who = {"user_id": mention[1]} if mention else {"email": email[1]}
    if words[1].lower() in ("remove", "unlink", "delete"):
        return LinkCommand("remove", **who)
    shape = extensions.shape_problem(words[1])
    if shape is not None:
        return LinkCommand("invalid", problem=messages.extension_refused(shape))
    return LinkCommand("link", extension=words[1], **who)


class EmailNotFound(Exception):
    """No Slack user has the email address; the message says so to the admin."""


async def user_for_email(client: AsyncWebClient, email: str) -> str:
    """The Slack user ID with this email address, or EmailNotFound with a sentence."""
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            found = await client.users_lookupByEmail(email=email)
    except SlackApiError as error:
        code = error.response.get("error")
        if code == "users_not_found":
            raise EmailNotFound(messages.no_user_with_email(email)) from None
        log.warning("users.lookupByEmail failed: %s", code)
        raise EmailNotFound(messages.email_lookup_failed()) from None
    except Exception as error:
        log.warning("users.lookupByEmail unreachable: %s", type(error).__name__)
        away = is_slack_unreachable(error)
        text = messages.slack_unreachable_email() if away else messages.email_lookup_failed()
        raise EmailNotFound(text) from None
    user = found["user"]
    if user.get("deleted") or user.get("is_bot"):
        raise EmailNotFound(messages.email_not_a_person(email))
    return user["id"]


def register(app: AsyncApp, settings: Settings, db: StoreRunner, admins: AdminDirectory) -> None:
    """Attach the /dial-link command."""
    store = db.store

    async def handle_dial_link(ack: AsyncAck, command: dict, client: AsyncWebClient) -> None:
        user_id = command["user_id"]
        request = parse(command.get("text") or "")
        if request.action == "help":
            await ack(text=messages.LINK_USAGE, response_type="ephemeral")
            return
        if request.action == "invalid":
            await ack(text=request.problem, response_type="ephemeral")
            return
        if request.action == "show":
            try:
                link = await db.run(store.get_link, user_id)
            except (StoreBusy, StoreFailed) as error:
                log.error("/dial-link by %s not answered: %s", user_id, error)
                await ack(text=messages.database_unavailable(), response_type="ephemeral")
                return
            await ack(text=messages.link_shown(link), response_type="ephemeral")
            return
        if not await admins.is_admin(user_id):
            await ack(
                text=messages.not_admin(settings.admins),
                response_type="ephemeral",
            )
            return
        if request.email:
            try:
                found = await user_for_email(client, request.email)
            except EmailNotFound as problem:
                await ack(text=str(problem), response_type="ephemeral")
                return
            request = replace(request, user_id=found, email=None)
        try:
            text = await _admin_action(request, user_id)
        except StoreBusy:
            text = messages.link_store_busy()
        except StoreFailed as error:
            log.error("/dial-link %s by %s not done: %s", request.action, user_id, error)
            changes = request.action in ("link", "remove")
            text = messages.link_not_saved() if changes else messages.database_unavailable()
        await ack(text=text, response_type="ephemeral")

    async def _admin_action(request: LinkCommand, admin_id: str) -> str:
        if request.action == "list":
            return messages.link_list(await db.run(store.list_links))
        if request.action == "log":
            records = await db.run(store.recent_calls, user_id=request.user_id, limit=LOG_LIMIT)
            return messages.call_log(records, request.user_id)
        assert request.user_id is not None
        if request.action == "remove":
            previous = await db.run(store.remove_link, request.user_id)
            return messages.unlinked(request.user_id, previous)
        assert request.extension is not None
        problem = extensions.linkable_problem(request.extension, settings.default_region)
        if problem is not None:
            return messages.extension_refused(problem)
        previous = await db.run(store.set_link, request.user_id, request.extension, admin_id)
        others = [
            other
            for other in await db.run(store.users_with_extension, request.extension)
            if other != request.user_id
        ]
        return messages.linked(request.user_id, request.extension, previous, others)

    app.command("/dial-link")(handle_dial_link)
