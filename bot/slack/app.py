"""create_app: the Bolt app with every listener attached; no module-level singletons."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request import payload_utils
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.services.acks import AckGate
from bot.services.dialing import ACK_SENT
from bot.slack import replays
from bot.slack.deps import Deps
from bot.slack.identity import SlackIdentity
from bot.slack.listeners import (
    actions,
    dial,
    dial_link,
    directory,
    home,
    link_requests,
    modal,
    receipts,
    shortcut,
    workflow,
)
from bot.slack.response_urls import ResponseUrls
from bot.slack.retry import SlackUnreachable, describe, is_slack_unreachable
from bot.slack.text import callers
from bot.store.runner import StoreRunner

#: Every listener module; each attaches its handlers with register(app, deps).
LISTENERS = (
    dial,
    shortcut,
    actions,
    modal,
    home,
    dial_link,
    link_requests,
    workflow,
    receipts,
    directory,
)

log = logging.getLogger(__name__)


class DialerApp(AsyncApp):
    """Bolt's AsyncApp that tells calls when their request's ack is on its way (ACK_SENT),
    and counts the requests still waiting for their ack (acks first: bot.services.acks)."""

    #: Who the bot is in Slack; start-up learns it (bot.runtime), Bolt's authorize reads it.
    identity: SlackIdentity

    def __init__(self, *, metrics: Metrics, acks: AckGate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics
        self.acks = acks

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        """Dispatch as Bolt does; listeners started here see ACK_SENT done once it returns."""
        # The metrics time the ack (replies count their failures); the gate holds PBX requests.
        with self.metrics.handling(request_kind(req.body)), self.acks.awaiting_ack():
            if self.process_before_response:  # the listener runs inside the dispatch: no wait
                return await super().async_dispatch(req)
            sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            token = ACK_SENT.set(sent)
            try:
                response = await super().async_dispatch(req)
                acted = req.context.get(replays.ACTED)
                if acted is not None and req.context.ack.response is not None:
                    acted()  # a listener acked: the request's claim is an act
                return response
            finally:
                ACK_SENT.reset(token)
                if not sent.done():
                    sent.set_result(None)


def create_app(
    deps: Deps,
    *,
    identity: SlackIdentity,
    metrics: Metrics,
    db: StoreRunner,
    acks: AckGate,
    response_urls: ResponseUrls,
) -> DialerApp:
    """Build the Bolt app: commands, shortcuts, buttons, modals, Home and the workflow step."""

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        return identity.result_for(enterprise_id, team_id, user_id)

    app = DialerApp(
        metrics=metrics,
        acks=acks,
        # Bolt's own client stays tokenless: each request's client gets the token from
        # `authorize`, which never calls Slack (no per-request auth.test to fail on).
        client=AsyncWebClient(base_url=deps.settings.slack_api_url),
        authorize=authorize,
        signing_secret=deps.settings.slack_signing_secret or "",
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        # Bolt's loggers copy this one's level (WARNING, bot/logs.py), not the root's:
        # its INFO lines include the body of every request that fails verification.
        logger=logging.getLogger("slack_bolt"),
    )
    app.identity = identity
    replays.register(app, db)  # after Bolt's signature check, before every listener
    response_urls.register(app)  # replies share one session
    app.error(log_unhandled)
    for listener in LISTENERS:
        listener.register(app, deps)
    return app


async def log_unhandled(
    error: Exception, body: dict, response: BoltResponse | None
) -> BoltResponse | None:
    """An error no listener caught: one line (and a sentence) when Slack was away, else logged."""
    if is_slack_unreachable(error):  # one line, and a sentence instead of a 500
        log.warning(
            "a request needed Slack, which could not be reached (%s)",
            describe(error),
            exc_info=error if log.isEnabledFor(logging.DEBUG) else None,
        )
        return None if response is None else slack_away_response(error, body)
    missing = missing_field(error)
    if missing is not None:  # signed, so Slack's: ack it (Slack would retry or show an error)
        log.warning(
            "ignored a %s request without the %r field a listener needs",
            request_name(body),
            missing,
        )
        return None if response is None else BoltResponse(status=200, body="")
    log.error("unhandled error in a listener: %s", type(error).__name__, exc_info=error)
    return None


def missing_field(error: Exception) -> str | None:
    """The payload field a listener looked for and did not find, if that is what went wrong.

    A KeyError (or subscripting a missing object) raised in a listener module itself is the
    listener reading the payload; the same error deeper down is a bug and keeps its traceback.
    """
    frames = traceback.extract_tb(error.__traceback__)
    if not frames or "/bot/slack/listeners/" not in frames[-1].filename.replace("\\", "/"):
        return None
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    if isinstance(error, TypeError) and "NoneType" in str(error):
        return frames[-1].line or "a field"
    return None


def request_name(body: dict[str, Any]) -> str:
    """What kind of request a body is, in Slack's words: view_submission, /dial, …"""
    for key in ("command", "type"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return "Slack"


def slack_away_response(error: Exception, body: dict[str, Any]) -> BoltResponse:
    """The ack for a request that could not be served because Slack's Web API is away."""
    text = str(error) if isinstance(error, SlackUnreachable) else callers.slack_unreachable()
    if body.get("type") == "view_submission":  # a modal shows errors next to an input
        inputs = list(((body.get("view") or {}).get("state") or {}).get("values") or {})
        if inputs:  # state.values is keyed by the input blocks' IDs
            answer = {"response_action": "errors", "errors": {inputs[0]: text}}
            return BoltResponse(status=200, body=json.dumps(answer))
    answer = {"response_type": "ephemeral", "text": text}
    return BoltResponse(status=200, body=json.dumps(answer))


def request_kind(body: dict[str, Any]) -> str:
    """Bolt's reading of a request body: command, shortcut, action, view, event or other."""
    if payload_utils.is_slash_command(body):
        return "command"
    if payload_utils.is_shortcut(body):
        return "shortcut"
    if payload_utils.is_action(body):
        return "action"
    if payload_utils.is_view(body):
        return "view"
    if payload_utils.is_event(body):
        return "event"
    return "other"
