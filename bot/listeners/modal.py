"""Dialing from a modal: the 'Dial a number' shortcut and Home button, checked in the modal."""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import views
from bot.calls import DialService, Refused
from bot.ids import MENTION

log = logging.getLogger(__name__)


def plain(text: str) -> str:
    """A Slack mrkdwn sentence as plain text, for modal field errors (which show no markup)."""
    text = re.sub(r" \((?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>(?:, )?)+\)", "", text)
    text = MENTION.sub(lambda m: f"@{m[1]}", text)
    return re.sub(r"[`*]", "", text)


def submitted_number(view: dict) -> str:
    """What the user typed in the modal's number field."""
    values = view.get("state", {}).get("values", {})
    return (values.get(views.NUMBER_BLOCK, {}).get(views.NUMBER_INPUT, {}).get("value")) or ""


def register(app: AsyncApp, service: DialService) -> None:
    """Attach the global shortcut, the Home button and the modal's submission."""

    async def open_dial_modal(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=views.dial_modal())

    async def handle_dial_submission(ack: AsyncAck, body: dict, view: dict, client) -> None:
        user_id = body["user"]["id"]
        text = submitted_number(view).strip()
        if not text:
            await ack(response_action="errors", errors={views.NUMBER_BLOCK: "Type a number."})
            return
        target = await service.resolve(user_id, text, "modal")
        if isinstance(target, Refused):
            await ack(response_action="errors", errors={views.NUMBER_BLOCK: plain(target.text)})
            return
        started = await service.begin(user_id, target, "modal")
        if isinstance(started, Refused):
            await ack(response_action="errors", errors={views.NUMBER_BLOCK: plain(started.text)})
            return
        await ack(response_action="update", view=views.result_modal(started.announcement))
        outcome = await service.finish(started)
        try:
            await client.views_update(view_id=view["id"], view=views.result_modal(outcome))
        except Exception as error:
            log.warning("could not show the outcome in the modal: %s", type(error).__name__)

    app.shortcut("dial_from_modal")(open_dial_modal)
    app.action(views.OPEN_DIAL_MODAL)(open_dial_modal)
    app.view(views.DIAL_MODAL)(handle_dial_submission)
