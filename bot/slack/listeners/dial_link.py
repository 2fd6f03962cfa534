"""`/dial-link`: admins link Slack users to extensions; anyone sees their own."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.domain import extensions
from bot.domain.extensions import Problem
from bot.domain.ids import MENTION
from bot.services.linking import EmailProblem, EmailTrouble, Linked
from bot.slack.admins import refusal
from bot.slack.deps import Deps
from bot.slack.text import admins as admin_text
from bot.store import StoreBusy, StoreError

EMAIL = re.compile(r"^(?:<mailto:)?([^\s<>|@]+@[^\s<>|@]+\.[^\s<>|@]+)(?:\|[^>]*)?>?$")
LOG_LIMIT = 20

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkCommand:
    """A parsed /dial-link: what to do, to whom, with which extension."""

    action: str  # show, help, list, log, link, remove, invalid
    user_id: str | None = None
    page: int = 1
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
    if head == "list" and len(words) == 2 and words[1].isdigit() and words[1].isascii():
        return LinkCommand("list", page=int(words[1]))
    if head == "log" and len(words) <= 2:
        user = MENTION.fullmatch(words[1]) if len(words) == 2 else None
        if len(words) == 2 and not user:
            return LinkCommand("invalid", problem=admin_text.link_not_understood(text))
        return LinkCommand("log", user_id=user[1] if user else None)
    mention = MENTION.fullmatch(words[0])
    email = None if mention else EMAIL.match(words[0])
    if not (mention or email) or len(words) != 2:
        return LinkCommand("invalid", problem=admin_text.link_not_understood(text))
    who = {"user_id": mention[1]} if mention else {"email": email[1]}
    if words[1].lower() in ("remove", "unlink", "delete"):
        return LinkCommand("remove", **who)
    shape = extensions.shape_problem(words[1])
    if shape is not None:
        return LinkCommand("invalid", problem=admin_text.extension_refused(shape))
    return LinkCommand("link", extension=words[1], **who)


def email_refusal(problem: EmailProblem) -> str:
    """What the admin reads when an email address gave no one to link."""
    if problem.trouble == EmailTrouble.NO_ONE:
        return admin_text.no_user_with_email(problem.email)
    if problem.trouble in (EmailTrouble.DEACTIVATED, EmailTrouble.BOT):
        return admin_text.email_not_a_person(problem.email)
    if problem.trouble == EmailTrouble.UNREACHABLE:
        return admin_text.slack_unreachable_email()
    return admin_text.email_lookup_failed()


async def handle_dial_link(ack: AsyncAck, command: dict, *, deps: Deps) -> None:
    """Answer /dial-link in the ack: usage, your own link, or an admin's change."""
    user_id = command["user_id"]
    request = parse(command.get("text") or "")
    if request.action == "help":
        await ack(text=admin_text.LINK_USAGE, response_type="ephemeral")
        return
    if request.action == "invalid":
        await ack(text=request.problem, response_type="ephemeral")
        return
    if request.action == "show":
        try:
            link = await deps.linking.link_of(user_id)
        except StoreError as error:
            log.error("/dial-link by %s not answered: %s", user_id, error)
            await ack(text=admin_text.database_unavailable(), response_type="ephemeral")
            return
        await ack(text=admin_text.link_shown(link), response_type="ephemeral")
        return
    standing = await deps.admins.is_admin(user_id)
    if not standing:
        viewing = request.action in ("list", "log")
        refused = refusal(standing, deps.settings.admins, viewing=viewing)
        await ack(text=refused, response_type="ephemeral")
        return
    if request.email:
        found = await deps.linking.user_for_email(request.email)
        if isinstance(found, EmailProblem):
            await ack(text=email_refusal(found), response_type="ephemeral")
            return
        request = replace(request, user_id=found, email=None)
    changed: str | None = None
    try:
        text, changed = await admin_action(request, user_id, deps)
    except StoreBusy:
        text = admin_text.link_store_busy()
    except StoreError as error:
        log.error("/dial-link %s by %s not done: %s", request.action, user_id, error)
        changes = request.action in ("link", "remove")
        text = admin_text.link_not_saved() if changes else admin_text.database_unavailable()
    await ack(text=text, response_type="ephemeral")
    if changed is not None:  # after the ack: Home is a Web API call, and Slack waits 3 s at most
        await deps.home.link_changed(changed)


async def admin_action(request: LinkCommand, admin_id: str, deps: Deps) -> tuple[str, str | None]:
    """Do what an admin asked (list, log, link, remove): the sentence, and whose link changed."""
    if request.action == "list":
        return admin_text.link_list(await deps.linking.everyone(), request.page), None
    if request.action == "log":
        records = await deps.linking.call_log(request.user_id, LOG_LIMIT)
        return admin_text.call_log(records, request.user_id), None
    assert request.user_id is not None
    if request.action == "remove":
        previous = await deps.linking.unlink(request.user_id)
        changed = request.user_id if previous is not None else None
        return admin_text.unlinked(request.user_id, previous), changed
    assert request.extension is not None
    done = await deps.linking.link(request.user_id, request.extension, admin_id)
    return linked_text(done), (None if isinstance(done, Problem) else done.user_id)


def linked_text(done: Linked | Problem, *, plain: bool = False) -> str:
    """The admin's answer to a link: what changed, or why the extension can't be linked."""
    if isinstance(done, Problem):
        return admin_text.extension_refused(done, plain=plain)
    return admin_text.linked(done.user_id, done.extension, done.previous, done.others)


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the /dial-link command."""
    app.command("/dial-link")(partial(handle_dial_link, deps=deps))
