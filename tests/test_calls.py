"""DialService: the PBX is asked only after the request's ack has gone back to Slack."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.calls import ACK_SENT, Database, DialService, Started, Target
from bot.config import load_settings
from bot.dialer import CallPlaced
from bot.store import Store
from tests.waiting import assert_stays_async


class RecordingDialer:
    """Stands in for WebFonesClient: records calls, places them at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def place_call(self, extension: str, phonenumber: str) -> CallPlaced:
        self.calls.append((extension, phonenumber))
        return CallPlaced(status=200, latency_ms=1)


def make_service(tmp_path: Path) -> tuple[DialService, RecordingDialer]:
    settings = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-unit-test", "SLACK_SIGNING_SECRET": "s", "WEBFONES_API_KEY": "k"}
    )
    store = Store(str(tmp_path / "dialer.db"))
    store.set_link("U1", "309", "UADMIN")
    dialer = RecordingDialer()
    return DialService(settings, Database(store), dialer), dialer  # type: ignore[arg-type]


async def test_finish_waits_for_the_ack_before_calling_the_pbx(tmp_path: Path) -> None:
    service, dialer = make_service(tmp_path)
    target = Target(pbx_digits="15808675309", display="+1 580-867-5309", audit="+15808675309")
    started = await service.begin("U1", target, "slash")
    assert isinstance(started, Started)
    ack_sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    token = ACK_SENT.set(ack_sent)
    try:
        finishing = asyncio.create_task(service.finish(started))
    finally:
        ACK_SENT.reset(token)
    await assert_stays_async(
        lambda: dialer.calls == [] and not finishing.done(),
        for_seconds=0.05,
        what="no PBX call before the ack is sent",
    )
    ack_sent.set_result(None)
    assert "ringing" in await finishing
    assert dialer.calls == [("309", "15808675309")]


async def test_finish_outside_a_request_does_not_wait(tmp_path: Path) -> None:
    service, dialer = make_service(tmp_path)
    target = Target(pbx_digits="310", display="310", audit="310")
    started = await service.begin("U1", target, "home")
    assert isinstance(started, Started)
    assert "ringing" in await asyncio.wait_for(service.finish(started), 2)
    assert dialer.calls == [("309", "310")]


async def test_a_huge_retry_after_pauses_dialing_for_at_most_fifteen_minutes(
    tmp_path: Path,
) -> None:
    from bot.dialer import RateLimited

    service, _ = make_service(tmp_path)

    async def refuse(extension: str, phonenumber: str) -> CallPlaced:
        raise RateLimited("429", status=429, detail="slow down", retry_after=10**9)

    service.dialer.place_call = refuse  # type: ignore[method-assign]
    target = Target(pbx_digits="310", display="310", audit="310")
    started = await service.begin("U1", target, "slash")
    assert isinstance(started, Started)
    await service.finish(started)
    blocked = service.db.store._db().execute("SELECT value FROM pbx_state").fetchone()[0]
    assert blocked - time.time() <= 900
    record = service.db.store.recent_calls(user_id="U1")[0]
    assert record.outcome == "rate_limited" and record.pbx_status == 429
