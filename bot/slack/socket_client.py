"""slack_sdk's aiohttp Socket Mode client, reconnecting with backoff and one log line per try."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
from slack_sdk.socket_mode.aiohttp import SocketModeClient

from bot.domain.backoff import Backoff
from bot.slack.retry import describe

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
