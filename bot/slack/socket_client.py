"""Socket Mode transport: slack_sdk's aiohttp client with patient reconnects, and the intake.

`PatientSocketModeClient` reconnects with backoff and one log line per try; `SocketModeIntake`
hands envelopes to Bolt and, when the bot stops, takes no new ones but acks those it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.backoff import Backoff
from bot.slack import identity, replays
from bot.slack.identity import TokenRefused
from bot.slack.retry import UNREACHABLE_ERRORS, describe

log = logging.getLogger(__name__)

LOCK_SECONDS = 5.0  # as slack_sdk: a reconnect already under way is not queued behind
#: One try (a URL, then the WebSocket) gives up after this long: aiohttp's default is 5 minutes.
TRY_SECONDS = 10.0


class PatientSocketModeClient(SocketModeClient):
    """Connects as slack_sdk's client does, but waits longer after each failure and says so once.

    slack_sdk logs every failed connect with a full traceback and tries again every
    ping_interval, reusing a WebSocket URL that may be what failed: while Slack is away that
    is some 70 lines every 10 s. Here each try asks for a fresh URL, and a failure is one
    line with the reason and when the next try is.
    """

    def __init__(self, *args, backoff: Backoff, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.backoff = backoff

    async def connect(self) -> None:
        """Connect, retrying with backoff until connected or closed."""
        waits = self.backoff.waits()
        while not self.closed:
            try:
                await self._connect_once()
            except Exception as error:  # any failure to connect is retried; none is fatal here
                if self.closed:
                    return
                self.wss_uri = None
                wait = next(waits)
                log.warning(
                    "could not connect to Slack's Socket Mode (%s); next try in %gs",
                    describe(error),
                    wait,
                    exc_info=error if log.isEnabledFor(logging.DEBUG) else None,
                )
                await asyncio.sleep(wait)
            else:
                return

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """Reconnect (Slack asked, or the connection died); connect() fetches a fresh URL."""
        try:
            await asyncio.wait_for(self.connect_operation_lock.acquire(), timeout=LOCK_SECONDS)
        except TimeoutError:
            return  # another task is reconnecting already
        try:
            if force or not await self.is_connected():
                self.wss_uri = None
                await self.connect()
        finally:
            self.connect_operation_lock.release()

    async def _connect_once(self) -> None:
        """One try, in the steps of slack_sdk 3.x's connect(): URL, WebSocket, ping, tasks."""
        old_session = self.current_session
        self.auto_reconnect_enabled = False
        if old_session is not None:
            with contextlib.suppress(Exception):  # a broken session may not close cleanly
                await old_session.close()
        if self.aiohttp_client_session.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        async with asyncio.timeout(TRY_SECONDS):
            if self.wss_uri is None:
                opened = await self.web_client.apps_connections_open(app_token=self.app_token)
                self.wss_uri = opened["url"]
            self.current_session = await self.aiohttp_client_session.ws_connect(
                self.wss_uri,
                autoping=False,
                heartbeat=self.ping_interval,
                proxy=self.proxy,
                ssl=self.web_client.ssl if self.web_client.ssl is not None else True,
            )
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        self.stale = False
        await self.current_session.ping(f"sdk-ping-pong:{time.time()}".encode())
        log.info("connected to Slack's Socket Mode")
        # No await below: when a monitor or receiver task is the one reconnecting, cancel()
        # lands on itself, and it must only be unwound after the new tasks exist.
        if self.current_session_monitor is not None:
            self.current_session_monitor.cancel()
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        if self.message_receiver is not None:
            self.message_receiver.cancel()
        self.message_receiver = asyncio.ensure_future(self.receive_messages())


#: How often a silent connection is checked (Bolt's default for Socket Mode).
PING_SECONDS = 10.0
#: Slack's deadline for an ack: envelopes already being handled get that long at shutdown.
ACK_SECONDS = 3.0


class SocketModeIntake(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler that acks every envelope on its socket until it closes it."""

    def __init__(self, app: AsyncApp, app_token: str, backoff: Backoff) -> None:
        # Not super().__init__: that builds slack_sdk's own client, which would be thrown away.
        self.app = app
        self.app_token = app_token
        self.client = PatientSocketModeClient(
            app_token=app_token,
            logger=app.logger,
            # Without slack_sdk's own retry on connection errors: the schedule is ours.
            web_client=AsyncWebClient(base_url=app.client.base_url, retry_handlers=[]),
            ping_interval=PING_SECONDS,
            backoff=backoff,
        )
        self.client.socket_mode_request_listeners.append(self.handle)
        self._acking: set[asyncio.Task] = set()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        """Dispatch one envelope to Bolt and ack it (while stopping too: see stop_intake)."""
        task = asyncio.current_task()
        if task is not None:
            self._acking.add(task)
        envelope = replays.ENVELOPE_ID.set(req.envelope_id)
        retry = replays.ENVELOPE_RETRY.set(retry_headers(req))
        try:
            await super().handle(client, req)
        finally:
            replays.ENVELOPE_ID.reset(envelope)
            replays.ENVELOPE_RETRY.reset(retry)
            if task is not None:
                self._acking.discard(task)

    async def stop_intake(self) -> None:
        """Ack the envelopes being handled, and any that arrive meanwhile, then close the socket.

        An envelope Slack sends on this socket after SIGTERM is still acked (a slash command's
        user would otherwise see operation_timeout); once none is waiting for its ack (or after
        ACK_SECONDS), the WebSocket is closed, long before the last call in flight finishes,
        and Slack sends the next envelopes to the other connections.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACK_SECONDS
        while pending := [task for task in self._acking if not task.done()]:
            left = deadline - loop.time()
            if left <= 0:
                break
            await asyncio.wait(pending, timeout=left)
        await self.close_async()


async def open_socket_mode(app: AsyncApp, app_token: str, backoff: Backoff) -> SocketModeIntake:
    """Check the app-level token with apps.connections.open; fail fast if Slack refuses it."""
    handler = SocketModeIntake(app, app_token, backoff)
    try:
        async with asyncio.timeout(identity.TRY_SECONDS):
            opened = await handler.client.web_client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        await handler.close_async()
        code = error.response.get("error", "refused")
        raise TokenRefused(str(code)) from None
    except UNREACHABLE_ERRORS:
        pass  # the client keeps trying, one line per try, until Slack answers
    else:
        handler.client.wss_uri = opened["url"]
    return handler


def retry_headers(req: SocketModeRequest) -> dict[str, str]:
    """An envelope's retry_attempt and retry_reason as the headers HTTP mode would carry."""
    headers: dict[str, str] = {}
    if getattr(req, "retry_attempt", None) is not None:
        headers["x-slack-retry-num"] = str(req.retry_attempt)
    if getattr(req, "retry_reason", None):
        headers["x-slack-retry-reason"] = str(req.retry_reason)
    return headers
