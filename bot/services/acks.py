"""Acks first: work done after an ack yields while other requests still wait for theirs.

Slack gives each request 3 seconds to be acked. Under a burst, PBX requests sent for calls
already acked compete for the same event loop as the requests still waiting for their ack, so
a request about to go to the PBX first waits until no request is waiting for its ack — for at
most a short cap, so that a steady stream of requests cannot starve the PBX, and an idle dial
does not wait at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress

#: After-ack work waits at most this long for the acks in progress (a steady stream's cap).
ACKS_FIRST_SECONDS = 1.0


class AckGate:
    """Counts the requests still waiting for their ack; after-ack work waits for none to be."""

    def __init__(self, cap: float = ACKS_FIRST_SECONDS) -> None:
        self._cap = cap
        self._waiting = 0
        self._clear: asyncio.Event | None = None

    @property
    def waiting(self) -> int:
        """How many requests are being handled and not yet acked."""
        return self._waiting

    @contextmanager
    def awaiting_ack(self) -> Iterator[None]:
        """Around one request's handling, up to the moment its ack is handed back."""
        self._waiting += 1
        if self._clear is not None:
            self._clear.clear()
        try:
            yield
        finally:
            self._waiting -= 1
            if self._waiting == 0 and self._clear is not None:
                self._clear.set()

    async def after_acks(self) -> None:
        """Wait until no request is waiting for its ack, or for the cap, whichever is first."""
        if self._waiting == 0:
            return
        if self._clear is None:
            self._clear = asyncio.Event()
        with suppress(TimeoutError):
            async with asyncio.timeout(self._cap):
                await self._clear.wait()
