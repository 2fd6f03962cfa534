"""Dialing from a modal: the 'Dial a number' shortcut and Home button, checked in the modal."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import slack_call_failed
from bot.services.dialing import Answer, CallRequest, DialService, Surface
from bot.slack import messages, views

log = logging.getLogger(__name__)


def submitted_number(view: dict) -> str:
    """What the user typed in the modal's number field."""
    values = view.get("state", {}).get("values", {})
    return (values.get(views.NUMBER_BLOCK, {}).get(views.NUMBER_INPUT, {}).get("value")) or ""


class ModalReplies:
    """A refusal is the field's error, 'Calling…' replaces the modal, the outcome updates it."""

    def __init__(self, ack: AsyncAck, client: AsyncWebClient, view_id: str) -> None:
        self._ack = ack
        self._client = client
        self._view_id = view_id

    async def refused(self, answer: Answer) -> None:
        """Show why, under the number field (plain text: the field shows no markup)."""
        await self._ack(response_action="errors", errors={views.NUMBER_BLOCK: answer.plain})

    async def calling(self, answer: Answer) -> None:
        """Replace the form with the 'Calling…' line."""
        await self._ack(response_action="update", view=views.result_modal(answer.text))

    async def finished(self, answer: Answer) -> None:
        """Show the outcome in the modal."""
        try:
            await self._client.views_update(
                view_id=self._view_id, view=views.result_modal(answer.text)
            )
        except Exception as error:
            slack_call_failed("views.update")
            log.warning("could not show the outcome in the modal: %s", type(error).__name__)


def register(app: AsyncApp, service: DialService) -> None:
    """Attach the global shortcut, the Home button and the modal's submission."""

    async def open_dial_modal(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=views.dial_modal())

    async def handle_dial_submission(ack: AsyncAck, body: dict, view: dict, client) -> None:
        text = submitted_number(view).strip()
        if not text:
            await ack(response_action="errors", errors={views.NUMBER_BLOCK: messages.TYPE_A_NUMBER})
            return
        request = CallRequest(body["user"]["id"], text, Surface.MODAL)
        await service.dial(request, ModalReplies(ack, client, view["id"]))

    app.shortcut("dial_from_modal")(open_dial_modal)
    app.action(views.OPEN_DIAL_MODAL)(open_dial_modal)
    app.view(views.DIAL_MODAL)(handle_dial_submission)
