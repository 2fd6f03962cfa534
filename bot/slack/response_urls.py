"""Replies through response_url on one kept-alive HTTP session, not one session per reply.

Bolt's `respond()` makes a new aiohttp session for every reply: a new TLS context (the
system's certificates read again) and a new connection to Slack each time. Under a burst of
dials that was a large share of the CPU spent after the acks. `ResponseUrls` keeps one session
(opened on first use, in the event loop) and gives each request a `respond()` on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

#: A reply through response_url waits this long for Slack (slack_sdk's own default).
TIMEOUT_SECONDS = 30


class ResponseUrls:
    """One aiohttp session for every response_url reply of the process."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The shared session, opened on first use (aiohttp wants a running loop for it)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
            )
        return self._session

    def respond(self, response_url: str) -> SessionRespond:
        """A `respond()` for one request's response_url, on the shared session."""
        return SessionRespond(response_url=response_url, urls=self)

    def register(self, app: AsyncApp) -> None:
        """Give every request that has a response_url this `respond()` instead of Bolt's."""

        async def use_shared_session(context: AsyncBoltContext, next: Any) -> None:
            if context.response_url:
                context["respond"] = self.respond(context.response_url)
            await next()

        app.use(use_shared_session)

    async def aclose(self) -> None:
        """Close the session (replies in flight should be done)."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class SessionRespond(AsyncRespond):
    """Bolt's `respond()` for one response_url, posting on the shared session."""

    def __init__(self, *, response_url: str, urls: ResponseUrls) -> None:
        super().__init__(response_url=response_url)
        self._urls = urls

    async def __call__(  # type: ignore[override]  # the arguments the bot's replies use
        self,
        text: str = "",
        blocks: Sequence[dict[str, Any]] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        **more: Any,
    ) -> WebhookResponse:
        """Post one message to the response_url, as Bolt's respond() would."""
        message: dict[str, Any] = {"text": text, **more}
        if blocks is not None:
            message["blocks"] = list(blocks)
        if response_type is not None:
            message["response_type"] = response_type
        if replace_original is not None:
            message["replace_original"] = replace_original
        client = AsyncWebhookClient(
            url=self.response_url or "",
            session=self._urls.session(),
            timeout=TIMEOUT_SECONDS,
        )
        return await client.send_dict(message)
