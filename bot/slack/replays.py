"""Each Slack request acts at most once: a replay or a retry of one already handled is dropped.

Slack redelivers events and Socket Mode envelopes it believes were not acknowledged, and a
signed request can be replayed byte for byte within the 5-minute signature window. Before any
listener runs (and after Bolt has checked the signature), the request's identity — its
`trigger_id` (commands, shortcuts, buttons, modal submissions), its `event_id` (events), and
in Socket Mode the envelope's id too — is claimed in the database, so a restart or a second
process sees it. A repeat is acknowledged with an empty 200 (so Slack stops retrying), places
no call and shows the user nothing new; one INFO line says so.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.store import StoreBusy, StoreFailed
from bot.store.runner import StoreRunner

log = logging.getLogger(__name__)

#: The Socket Mode envelope being dispatched (set by the Socket Mode handler), if any.
ENVELOPE_ID: ContextVar[str | None] = ContextVar("envelope_id", default=None)
#: Slack's retry headers for that envelope (its retry_attempt and retry_reason), as HTTP mode
#: sends them; set by the Socket Mode handler, since not every Bolt version passes them on.
ENVELOPE_RETRY: ContextVar[dict[str, str] | None] = ContextVar("envelope_retry", default=None)

#: The request context's key for "this request's claim is now an act" (called once acked).
ACTED = "claim_acted"

#: At most this many claims are marked acted in one write (SQLite's host parameters).
ACTED_BATCH = 400

#: How much of an identity is kept: Slack's are short; a longer one is cut, not refused.
KEY_LIMIT = 120

#: What a request is, for the log line, by its payload's `type`.
_KINDS = {
    "event_callback": "an event",
    "message_action": "a message shortcut",
    "shortcut": "a shortcut",
    "block_actions": "a button click",
    "view_submission": "a modal submission",
    "view_closed": "a modal closing",
    "block_suggestion": "an options request",
}
#: Only names of this shape go into the log line; anything else is left out.
_SAFE_NAME = re.compile(r"[a-z0-9_/-]{1,40}")


def register(app: AsyncApp, db: StoreRunner) -> None:
    """Drop repeats before every listener (Bolt's signature check runs before this)."""
    app.use(IgnoreRepeats(db))


def request_keys(body: Any, envelope_id: str | None = None) -> list[str]:
    """The names this request goes by across deliveries: payload identity, then envelope."""
    keys: list[str] = []
    if isinstance(body, dict):
        for field, prefix in (("event_id", "event"), ("trigger_id", "trigger")):
            value = body.get(field)
            if isinstance(value, str) and value:
                keys.append(f"{prefix}:{value[:KEY_LIMIT]}")
                break
    if envelope_id:
        keys.append(f"envelope:{envelope_id[:KEY_LIMIT]}")
    return keys


def describe(body: Any, headers: dict[str, Any]) -> str:
    """What was repeated, in a few words with nothing copied from the request but safe names."""
    body = body if isinstance(body, dict) else {}
    if "command" in body:
        kind, name = "a slash command", body.get("command")
    else:
        kind = _KINDS.get(str(body.get("type")), "a request")
        event = body.get("event")
        name = event.get("type") if isinstance(event, dict) else None
    what = f"{kind} {name}" if isinstance(name, str) and _SAFE_NAME.fullmatch(name) else kind
    attempt = _header(headers, "x-slack-retry-num")
    if attempt and attempt.isdigit() and attempt != "0":
        reason = _header(headers, "x-slack-retry-reason") or ""
        reason = reason if _SAFE_NAME.fullmatch(reason) else "no reason given"
        return f"{what} (Slack's retry {attempt}: {reason})"
    return what


class IgnoreRepeats(AsyncMiddleware):
    """A Bolt middleware: claim the request's identity; answer a repeat with an empty ack."""

    def __init__(self, db: StoreRunner) -> None:
        self._db = db
        self._trouble = False
        self._recording: set[asyncio.Task] = set()
        self._unmarked: list[str] = []
        self._marking: asyncio.Task | None = None

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        """Go on to the listeners unless this request was already handled."""
        keys = request_keys(req.body, ENVELOPE_ID.get())
        if keys and not await self._claim(keys):
            headers = {**(ENVELOPE_RETRY.get() or {}), **req.headers}
            log.info("ignored a repeat of %s", describe(req.body, headers))
            return BoltResponse(status=200, body="")
        if keys:  # once the request is acked, the claim is an act (DialerApp calls this)
            req.context[ACTED] = lambda: self.acted(keys)
        return await next()

    def acted(self, keys: list[str]) -> None:
        """The request was acked: record its claim as an act, off the ack's path.

        A listener that did not ack within Slack's 3 s has failed the request in Slack's eyes,
        and Slack (or a load balancer) may resend it: that claim is left open for the resend.
        Marks are written together: a burst's acks cost a few writes, not one each.
        """
        self._unmarked.extend(keys)
        if self._marking is None:
            self._marking = asyncio.create_task(self._mark_acted())
            self._recording.add(self._marking)
            self._marking.add_done_callback(self._recording.discard)

    async def _mark_acted(self) -> None:
        """Mark every claim acted on so far done, in batches, until none is left unmarked."""
        try:
            await asyncio.sleep(0)  # the acks sent in this turn of the loop join the first write
            while self._unmarked:
                keys = self._unmarked[:ACTED_BATCH]
                del self._unmarked[:ACTED_BATCH]
                await self._write_acted(keys)
        finally:
            self._marking = None

    async def _write_acted(self, keys: list[str]) -> None:
        """Mark the claims done, so no other process takes them over (a failure is only logged)."""
        try:
            await self._db.run(self._db.store.claims.acted, *keys)
        except Exception as error:
            if not self._trouble:  # the store's trouble is logged once, as for claims
                log.warning("could not record a request as acted on: %s", type(error).__name__)
            self._trouble = True

    async def _claim(self, keys: list[str]) -> bool:
        """Claim the keys; when the database can't say, act (the listener answers for it)."""
        try:
            claimed = await self._db.run(self._db.store.claims.claim, *keys)
        except StoreFailed as error:
            # A failed database refuses whatever the request asks, and that refusal is logged
            # (once per cause) by whoever acts on it: one line for the operator, not two.
            log.debug("could not record a request as handled: %s", error)
            self._trouble = True
            return True
        except StoreBusy as error:
            if not self._trouble:
                log.warning("could not record requests as handled; repeats go unseen: %s", error)
            self._trouble = True
            return True
        except Exception as error:  # never a 500 for the sake of a claim
            log.warning("could not record a request as handled: %s", type(error).__name__)
            return True
        if self._trouble:
            log.info("requests are recorded as handled again")
            self._trouble = False
        return claimed


def _header(headers: dict[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return value.strip()[:40] if isinstance(value, str) else None
