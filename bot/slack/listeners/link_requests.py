"""Unlinked users ask to be linked; admins get a DM with a 'Link…' button and a modal."""

from __future__ import annotations

import logging
import time

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.domain import extensions
from bot.metrics import slack_call_failed
from bot.slack import messages, views
from bot.slack.admins import AdminDirectory
from bot.slack.home import HomePublisher
from bot.slack.listeners.respond import reply
from bot.store import StoreBusy, StoreFailed
from bot.store.runner import StoreRunner

log = logging.getLogger(__name__)

REQUEST_COOLDOWN_SECONDS = 600.0


async def direct_message(
    client: AsyncWebClient, user_id: str, text: str, blocks: list | None = None
) -> bool:
    """DM a user from the bot; answer whether it was delivered."""
    try:
        opened = await client.conversations_open(users=user_id)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks)
    except Exception as error:
        slack_call_failed("chat.postMessage")
        log.warning("could not message %s: %s", user_id, type(error).__name__)
        return False
    return True


def register(
    app: AsyncApp,
    settings: Settings,
    db: StoreRunner,
    admins: AdminDirectory,
    home: HomePublisher,
) -> None:
    """Attach the request button, the admin's Link… button and the link modal."""
    asked_at: dict[str, float] = {}

    async def tell(user_id: str, body: dict, respond: AsyncRespond, text: str) -> None:
        if body.get("response_url"):
            await reply(respond, text, replace=True)
        else:
            await home.publish(user_id, banner=text)

    async def handle_request_link(
        ack: AsyncAck, body: dict, respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        try:
            link = await db.run(db.store.get_link, user_id)
        except (StoreBusy, StoreFailed) as error:
            log.error("link request by %s not handled: %s", user_id, error)
            await tell(user_id, body, respond, messages.database_unavailable())
            return
        if link is not None:
            await tell(user_id, body, respond, messages.link_shown(link))
            return
        if not settings.admins:
            await tell(user_id, body, respond, messages.ask_workspace_admin())
            return
        if time.monotonic() - asked_at.get(user_id, -1e9) < REQUEST_COOLDOWN_SECONDS:
            await tell(user_id, body, respond, messages.link_already_requested())
            return
        text = messages.link_requested_by(user_id)
        delivered = [
            admin
            for admin in sorted(settings.admins)
            if await direct_message(client, admin, text, views.link_request_blocks(user_id))
        ]
        if not delivered:
            await tell(user_id, body, respond, messages.ask_workspace_admin())
            return
        asked_at[user_id] = time.monotonic()
        await tell(user_id, body, respond, messages.link_requested(delivered))

    async def handle_open_link_modal(
        ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        admin_id = body["user"]["id"]
        if not await admins.is_admin(admin_id):
            await direct_message(client, admin_id, messages.not_admin(settings.admins))
            return
        user_id = action.get("value") or None
        await client.views_open(trigger_id=body["trigger_id"], view=views.link_modal(user_id))

    async def handle_link_submission(
        ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient
    ) -> None:
        admin_id = body["user"]["id"]
        values = view.get("state", {}).get("values", {})
        extension = (
            values.get(views.EXTENSION_BLOCK, {}).get(views.EXTENSION_INPUT, {}).get("value") or ""
        ).strip()
        user_id = view.get("private_metadata") or (
            values.get(views.USER_BLOCK, {}).get(views.USER_INPUT, {}).get("selected_user")
        )
        if not await admins.is_admin(admin_id):
            await ack(
                response_action="errors",
                errors={views.EXTENSION_BLOCK: messages.ONLY_ADMINS_LINK},
            )
            return
        problem = extensions.linkable_problem(extension, settings.default_region)
        if problem is not None:
            refused = messages.extension_refused(problem, plain=True)
            await ack(response_action="errors", errors={views.EXTENSION_BLOCK: refused})
            return
        if not user_id:
            await ack(response_action="errors", errors={views.USER_BLOCK: messages.PICK_A_PERSON})
            return
        try:
            previous = await db.run(db.store.set_link, user_id, extension, admin_id)
        except StoreBusy:
            await ack(
                response_action="errors",
                errors={views.EXTENSION_BLOCK: messages.link_store_busy()},
            )
            return
        except StoreFailed as error:
            log.error("link by %s from the modal not saved: %s", admin_id, error)
            await ack(
                response_action="errors", errors={views.EXTENSION_BLOCK: messages.link_not_saved()}
            )
            return
        others = [
            other
            for other in await db.run(db.store.users_with_extension, extension)
            if other != user_id
        ]
        done = messages.linked(user_id, extension, previous, others)
        await ack(response_action="update", view=views.result_modal(done, title="Linked"))
        await direct_message(client, user_id, messages.you_are_linked(extension))
        asked_at.pop(user_id, None)
        await home.publish(user_id)

    app.action(views.REQUEST_LINK)(handle_request_link)
    app.action(views.OPEN_LINK_MODAL)(handle_open_link_modal)
    app.view(views.LINK_MODAL)(handle_link_submission)
