"""Dialing from a modal: the 'Dial a number' shortcut and Home button, checked in the modal."""

from __future__ import annotations

import logging
from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import slack_call_failed
from bot.services.dialing import Answer, CallRequest, Surface
from bot.slack import views
from bot.slack.deps import Deps
from bot.slack.receipts import ReceiptCall, receipt_modal
from bot.slack.replies import words
from bot.slack.text import callers

log = logging.getLogger(__name__)


class ModalReplies:
    """A refusal is the field's error, 'Calling…' replaces the modal, the outcome updates it."""

    def __init__(self, ack: AsyncAck, client: AsyncWebClient, view_id: str) -> None:
        self._ack = ack
        self._client = client
        self._view_id = view_id

    async def refused(self, answer: Answer) -> None:
        """Show why, under the number field (plain text: the field shows no markup)."""
        await self._ack(
            response_action="errors", errors={views.NUMBER_BLOCK: words(answer, plain=True)}
        )

    async def calling(self, answer: Answer) -> None:
        """Replace the form with the 'Calling…' line."""
        await self._ack(response_action="update", view=views.result_modal(words(answer)))

    async def finished(self, answer: Answer) -> None:
        """Show the outcome in the modal (a placed call's receipt asks whether it rang)."""
        receipt = ReceiptCall.of_answer(answer)
        if receipt is None:
            view = views.result_modal(words(answer))
        else:
            view = receipt_modal(receipt, words(answer))
        try:
            await self._client.views_update(view_id=self._view_id, view=view)
        except Exception as error:
            slack_call_failed("views.update")
            log.warning("could not show the outcome in the modal: %s", type(error).__name__)


async def open_dial_modal(ack: AsyncAck, body: dict, *, deps: Deps) -> None:
    """Open the 'Dial a number' form (from the shortcuts menu or Home)."""
    await ack()
    await deps.client.views_open(trigger_id=body["trigger_id"], view=views.dial_modal())


async def handle_dial_submission(ack: AsyncAck, body: dict, view: dict, *, deps: Deps) -> None:
    """Dial what was typed in the form; a refusal shows under the field."""
    text = views.dial_form_number(view).strip()
    if not text:
        await ack(response_action="errors", errors={views.NUMBER_BLOCK: callers.TYPE_A_NUMBER})
        return
    request = CallRequest(body["user"]["id"], text, Surface.MODAL)
    await deps.dialing.dial(request, ModalReplies(ack, deps.client, view["id"]))


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the global shortcut, the Home button and the modal's submission."""
    app.shortcut("dial_from_modal")(partial(open_dial_modal, deps=deps))
    app.action(views.OPEN_DIAL_MODAL)(partial(open_dial_modal, deps=deps))
    app.view(views.DIAL_MODAL)(partial(handle_dial_submission, deps=deps))
