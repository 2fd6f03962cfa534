"""A placed call's receipt: Connected, Didn't ring, No answer, and Tell an admin.

The buttons carry the call's audit row id only; the service re-reads the row and checks that
the tapping user placed that call (bot.services.receipts). The receipt is redrawn where it was
tapped: a message through the tap's response_url (replace_original), the modal with
views.update, Home by publishing it again. A tap that notes nothing says why without touching
the receipt. The replay guard (bot.slack.replays) drops a replayed tap before it gets here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.metrics import slack_call_failed
from bot.services.receipts import Noted, Receipt
from bot.slack import views
from bot.slack.deps import Deps
from bot.slack.receipts import ReceiptCall, headline, receipt_blocks, receipt_modal
from bot.slack.replies import direct_message, reply
from bot.slack.text import receipts as receipt_text

log = logging.getLogger(__name__)

#: The three answer buttons' action ids.
ANSWER = re.compile(r"^receipt_(connected|didnt_ring|no_answer)$")

#: Why a tap noted nothing, in words.
REFUSED: dict[Noted, Callable[[], str]] = {
    Noted.NOT_FOUND: receipt_text.not_found,
    Noted.NOT_YOURS: receipt_text.not_yours,
    Noted.NOT_PLACED: receipt_text.not_placed,
    Noted.STORE_TROUBLE: receipt_text.store_trouble,
    Noted.NOT_DIDNT_RING: receipt_text.not_didnt_ring,
}


def tapped_in(body: dict) -> str:
    """Where the receipt was tapped: "home", "modal" or "message"."""
    view = body.get("view")
    if isinstance(view, dict) and view:
        return "home" if view.get("type") == "home" else "modal"
    return "message"


async def handle_answer(
    ack: AsyncAck, respond: AsyncRespond, body: dict, action: dict, *, deps: Deps
) -> None:
    """Record the caller's answer on their call and redraw the receipt where it was tapped."""
    await ack()
    answer = views.ANSWER_OF.get(str(action.get("action_id")))
    if answer is None:
        return
    user_id = body["user"]["id"]
    receipt = await deps.receipts.answer(user_id, str(action.get("value") or ""), answer)
    await show(receipt, body, respond, deps)


async def handle_tell_admin(
    ack: AsyncAck, respond: AsyncRespond, body: dict, action: dict, *, deps: Deps
) -> None:
    """DM the admins that the caller's extension didn't ring (each at most once an hour)."""
    await ack()
    user_id = body["user"]["id"]
    notice = await deps.receipts.tell_admins(user_id, str(action.get("value") or ""))
    record = notice.receipt.record
    if notice.receipt.refused or record is None:
        await show(notice.receipt, body, respond, deps)
        return
    extension = record.extension or ""
    if not notice.admins:
        await show(notice.receipt, body, respond, deps, receipt_text.no_admins(extension))
        return
    text = receipt_text.didnt_ring_notice(
        user_id,
        extension,
        views.destination_label(record.destination),
        views.when(record.at),
        notice.receipt.didnt_ring_week,
    )
    told: list[str] = []
    failed: list[str] = []
    for admin in notice.tell:
        if await direct_message(deps.client, admin, text):
            told.append(admin)
        else:
            failed.append(admin)
            await deps.receipts.not_told(extension, admin)
    note = receipt_text.admins_told(told, list(notice.told_recently), failed, extension)
    await show(notice.receipt, body, respond, deps, note)


async def show(
    receipt: Receipt, body: dict, respond: AsyncRespond, deps: Deps, note: str = ""
) -> None:
    """Redraw the receipt where it was tapped, or say why the tap noted nothing."""
    user_id = body["user"]["id"]
    where = tapped_in(body)
    if receipt.refused or receipt.record is None:
        why = REFUSED.get(receipt.noted, receipt_text.not_found)()
        if where == "home":
            await deps.home.publish(user_id, banner=why)
        elif where == "modal":
            await _update_modal(deps, body, views.result_modal(why))
        else:  # a new ephemeral line: the receipt itself stays as it was
            await reply(respond, why)
        return
    call = ReceiptCall.of_record(receipt.record)
    first = headline(call)
    if where == "home":
        await deps.home.publish(user_id, banner=f"{first} {note}".strip())
        return
    if where == "modal":
        await _update_modal(deps, body, receipt_modal(call, first, note))
    else:
        await reply(respond, first, replace=True, blocks=receipt_blocks(call, first, note))
    await deps.home.refresh(user_id)


async def _update_modal(deps: Deps, body: dict, view: dict) -> None:
    """Replace the modal the tap came from; logged, never raised, when Slack refuses."""
    try:
        await deps.client.views_update(view_id=body["view"]["id"], view=view)
    except Exception as error:
        slack_call_failed("views.update")
        log.warning("could not update the receipt in the modal: %s", type(error).__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the receipt's answer buttons and Tell an admin."""
    app.action(ANSWER)(partial(handle_answer, deps=deps))
    app.action(views.TELL_ADMIN)(partial(handle_tell_admin, deps=deps))
