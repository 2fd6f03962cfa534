"""Acks first: PBX requests wait while other requests still wait for their ack, up to a cap."""

from __future__ import annotations

import asyncio
import time

from bot.services.acks import AckGate


async def test_after_ack_work_does_not_wait_when_no_ack_is_pending() -> None:
    gate = AckGate(cap=5.0)
    began = time.monotonic()
    await gate.after_acks()
    assert time.monotonic() - began < 0.05


async def test_after_ack_work_waits_for_the_acks_in_progress() -> None:
    gate = AckGate(cap=5.0)
    order: list[str] = []

    async def request() -> None:
        with gate.awaiting_ack():
            await asyncio.sleep(0.05)
            order.append("acked")

    async def pbx_call() -> None:
        await asyncio.sleep(0.01)  # the request is already being handled
        await gate.after_acks()
        order.append("sent to the PBX")

    await asyncio.gather(request(), pbx_call())
    assert order == ["acked", "sent to the PBX"] and gate.waiting == 0


async def test_a_steady_stream_of_requests_cannot_hold_the_pbx_past_the_cap() -> None:
    gate = AckGate(cap=0.1)
    stop = asyncio.Event()

    async def stream() -> None:
        while not stop.is_set():  # a new request always arrives before the last is acked
            with gate.awaiting_ack():
                await asyncio.sleep(0.02)

    streaming = [asyncio.create_task(stream()) for _ in range(2)]
    await asyncio.sleep(0.01)
    began = time.monotonic()
    await gate.after_acks()
    waited = time.monotonic() - began
    stop.set()
    await asyncio.gather(*streaming)
    assert 0.09 <= waited < 0.5
