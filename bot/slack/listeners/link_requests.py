"""Unlinked users ask to be linked; admins get a DM with a 'Link…' button and a modal."""

from __future__ import annotations

import logging
import time
from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services.linking import Linked
from bot.slack import views
from bot.slack.admins import Standing, refusal
from bot.slack.deps import Deps
from bot.slack.listeners.dial_link import linked_text
from bot.slack.replies import direct_message, reply
from bot.slack.text import admins as admin_text
from bot.store import StoreBusy, StoreError

log = logging.getLogger(__name__)

REQUEST_COOLDOWN_SECONDS = 600.0


class AskedAt(dict[str, float]):
    """When each person last asked to be linked (monotonic seconds), so admins aren't spammed."""

    def recently(self, user_id: str) -> bool:
        """Whether this person asked within the cool-down."""
        return time.monotonic() - self.get(user_id, -1e9) < REQUEST_COOLDOWN_SECONDS


async def tell(user_id: str, body: dict, respond: AsyncRespond, text: str, deps: Deps) -> None:
    """Answer where the button was: in the message (response_url), or on Home."""
    if body.get("response_url"):
        await reply(respond, text, replace=True)
    else:
        await deps.home.publish(user_id, banner=text)


async def handle_request_link(
    ack: AsyncAck, body: dict, respond: AsyncRespond, *, deps: Deps, asked: AskedAt
) -> None:
    """'Ask an admin to link me': DM each DIALER_ADMINS admin a Link… button, once a while."""
    await ack()
    user_id = body["user"]["id"]
    try:
        link = await deps.linking.link_of(user_id)
    except StoreError as error:
        log.error("link request by %s not handled: %s", user_id, error)
        await tell(user_id, body, respond, admin_text.database_unavailable(), deps)
        return
    if link is not None:
        await tell(user_id, body, respond, admin_text.link_shown(link), deps)
        return
    # An admin asking for themselves is not messaged about it: they can link themselves.
    admins = sorted(deps.settings.admins - {user_id})
    if not admins:
        themselves = user_id in deps.settings.admins
        text = admin_text.link_yourself() if themselves else admin_text.ask_workspace_admin()
        await tell(user_id, body, respond, text, deps)
        return
    if asked.recently(user_id):
        await tell(user_id, body, respond, admin_text.link_already_requested(), deps)
        return
    text = admin_text.link_requested_by(user_id)
    blocks = views.link_request_blocks(user_id)
    delivered = [
        admin for admin in admins if await direct_message(deps.client, admin, text, blocks)
    ]
    if not delivered:
        await tell(user_id, body, respond, admin_text.ask_workspace_admin(), deps)
        return
    asked[user_id] = time.monotonic()
    await tell(user_id, body, respond, admin_text.link_requested(delivered), deps)


async def handle_open_link_modal(ack: AsyncAck, body: dict, action: dict, *, deps: Deps) -> None:
    """An admin pressed Link…: open the link form (for the person asking, when known)."""
    await ack()
    admin_id = body["user"]["id"]
    standing = await deps.admins.is_admin(admin_id)
    if not standing:
        await direct_message(deps.client, admin_id, refusal(standing, deps.settings.admins))
        return
    user_id = action.get("value") or None
    await deps.client.views_open(trigger_id=body["trigger_id"], view=views.link_modal(user_id))


def _errors(block: str, text: str) -> dict:
    return {"response_action": "errors", "errors": {block: text}}


async def handle_link_submission(
    ack: AsyncAck, body: dict, view: dict, *, deps: Deps, asked: AskedAt
) -> None:
    """The link form was submitted: link, or show why not under the field."""
    admin_id = body["user"]["id"]
    extension, user_id = views.link_form_values(view)
    standing = await deps.admins.is_admin(admin_id)
    if not standing:
        # Slack shows a field error as plain text: the short sentence for an ordinary member.
        plain = standing in (Standing.OUTSIDER, Standing.UNCONFIRMED)
        why = refusal(standing, ()) if plain else admin_text.ONLY_ADMINS_LINK
        await ack(**_errors(views.EXTENSION_BLOCK, why))
        return
    problem = deps.linking.problem(extension)
    if problem is not None:
        refused = admin_text.extension_refused(problem, plain=True)
        await ack(**_errors(views.EXTENSION_BLOCK, refused))
        return
    if not user_id:
        await ack(**_errors(views.USER_BLOCK, admin_text.PICK_A_PERSON))
        return
    try:
        done = await deps.linking.link(user_id, extension, admin_id)
    except StoreBusy:
        await ack(**_errors(views.EXTENSION_BLOCK, admin_text.link_store_busy()))
        return
    except StoreError as error:
        log.error("link by %s from the modal not saved: %s", admin_id, error)
        await ack(**_errors(views.EXTENSION_BLOCK, admin_text.link_not_saved()))
        return
    assert isinstance(done, Linked)  # the rule was checked above
    result = views.result_modal(linked_text(done), title="Linked")
    await ack(response_action="update", view=result)
    await direct_message(deps.client, user_id, admin_text.you_are_linked(extension))
    asked.pop(user_id, None)
    await deps.home.link_changed(user_id)


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the request button, the admin's Link… button and the link modal."""
    asked = AskedAt()
    app.action(views.REQUEST_LINK)(partial(handle_request_link, deps=deps, asked=asked))
    app.action(views.OPEN_LINK_MODAL)(partial(handle_open_link_modal, deps=deps))
    app.view(views.LINK_MODAL)(partial(handle_link_submission, deps=deps, asked=asked))
