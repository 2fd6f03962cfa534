"""DialService: one dialing path; the PBX is asked only after the request's ack is sent."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot.config import load_settings
from bot.domain.outcomes import Outcome
from bot.pbx import CallPlaced, PbxError, RateLimited, WebFonesClient
from bot.services.dialing import ACK_SENT, Answer, CallRequest, DialService, Surface
from bot.slack.replies import words
from bot.store import Store, StoreFailed
from bot.store.runner import StoreRunner
from tests.test_store import Clock


class RecordingDialer:
    """Stands in for WebFonesClient: records calls, places them at once (or fails as told)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None

    async def place_call(self, extension: str, phonenumber: str) -> CallPlaced:
        self.calls.append((extension, phonenumber))
        if self.fail_with is not None:
            raise self.fail_with
        return CallPlaced(status=200, latency_ms=1)


class RecordingReplies:
    """A surface that remembers each answer it was asked to show, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Answer]] = []

    async def refused(self, answer: Answer) -> None:
        self.seen.append(("refused", answer))

    async def calling(self, answer: Answer) -> None:
        self.seen.append(("calling", answer))

    async def finished(self, answer: Answer) -> None:
        self.seen.append(("finished", answer))

    @property
    def steps(self) -> list[str]:
        return [step for step, _ in self.seen]


def make_service(tmp_path: Path) -> tuple[DialService, RecordingDialer]:
    settings = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-unit-test", "SLACK_SIGNING_SECRET": "s", "WEBFONES_API_KEY": "k"}
    )
    store = Store(str(tmp_path / "dialer.db"))
    store.links.set("U1", "309", "UADMIN")
    store.links.set("U2", "310", "UADMIN")
    dialer = RecordingDialer()
    return DialService(settings, StoreRunner(store), dialer), dialer  # type: ignore[arg-type]


async def wait_async(probe: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Let the loop run until `probe` is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"waited {timeout:g}s for {what}, in vain"
        await asyncio.sleep(0.01)


def request(text: str, surface: Surface = Surface.SLASH, user: str = "U1") -> CallRequest:
    return CallRequest(user, text, surface)


async def test_dial_waits_for_the_ack_before_calling_the_pbx(tmp_path: Path) -> None:
    service, dialer = make_service(tmp_path)
    replies = RecordingReplies()
    ack_sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    token = ACK_SENT.set(ack_sent)
    try:
        dialing = asyncio.create_task(service.dial(request("580-867-5309"), replies))
    finally:
        ACK_SENT.reset(token)
    await asyncio.sleep(0.05)
    assert replies.steps == ["calling"] and dialer.calls == [] and not dialing.done()
    ack_sent.set_result(None)
    answer = await dialing
    assert answer.placed and "ringing" in words(answer)
    assert replies.steps == ["calling", "finished"]
    assert dialer.calls == [("309", "15808675309")]


async def test_dial_outside_a_request_does_not_wait(tmp_path: Path) -> None:
    service, dialer = make_service(tmp_path)
    answer = await asyncio.wait_for(
        service.dial(request("310", Surface.HOME), RecordingReplies()), 2
    )
    assert answer.placed and dialer.calls == [("309", "310")]


async def test_a_refusal_is_shown_once_and_nothing_is_sent(tmp_path: Path) -> None:
    service, dialer = make_service(tmp_path)
    replies = RecordingReplies()
    answer = await service.dial(request("1-900-976-1234"), replies)
    assert replies.steps == ["refused"] and dialer.calls == []
    assert answer.outcome == Outcome.REFUSED_PREMIUM_RATE
    assert "premium-rate" in words(answer)


async def test_a_refused_number_is_logged_in_e164_with_what_was_typed(tmp_path: Path) -> None:
    service, _ = make_service(tmp_path)
    await service.dial(request("1-900-976-1234"), RecordingReplies())
    record = service.db.store.calls.recent(user_id="U1")[0]
    assert record.destination == "+19009761234"
    assert record.typed == "1-900-976-1234"
    assert record.outcome == "refused_premium_rate"


async def test_a_repeat_right_after_a_500_says_the_last_attempt_may_still_ring(
    tmp_path: Path,
) -> None:
    service, dialer = make_service(tmp_path)
    dialer.fail_with = PbxError("500", status=500)
    failed = await service.dial(request("580-867-5309"), RecordingReplies())
    assert failed.outcome == Outcome.PBX_ERROR and "10 seconds" in words(failed)
    again = await service.dial(request("580-867-5309"), RecordingReplies())
    assert again.outcome == Outcome.HELD_MAY_STILL_RING
    assert "failed, but it may still ring" in words(again)
    assert "should be ringing" not in words(again)
    assert len(dialer.calls) == 1


async def test_modal_refusals_have_a_plain_form_without_markup(tmp_path: Path) -> None:
    service, _ = make_service(tmp_path)
    service.settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-unit-test",
            "SLACK_SIGNING_SECRET": "s",
            "WEBFONES_API_KEY": "k",
            "DIALER_ADMINS": "UADMIN001",
        }
    )
    answer = await service.dial(
        request("580-867-5309", Surface.MODAL, "UNLINKED"), RecordingReplies()
    )
    assert "<@UADMIN001>" in words(answer) and "`" in words(answer)
    assert "<@" not in words(answer, plain=True) and "`" not in words(answer, plain=True)
    assert "an admin" in words(answer, plain=True)


async def test_a_huge_retry_after_pauses_dialing_for_at_most_fifteen_minutes(
    tmp_path: Path,
) -> None:
    service, dialer = make_service(tmp_path)
    dialer.fail_with = RateLimited("429", status=429, detail="slow down", retry_after=10**9)
    answer = await service.dial(request("310"), RecordingReplies())
    assert "15 minutes" in words(answer)
    blocked = (
        service.db.store.database.connection().execute("SELECT value FROM pbx_state").fetchone()[0]
    )
    assert blocked - time.time() <= 900
    record = service.db.store.calls.recent(user_id="U1")[0]
    assert record.outcome == "rate_limited" and record.pbx_status == 429


@pytest.mark.parametrize("surface", list(Surface))
async def test_every_surface_is_recorded_by_its_name(tmp_path: Path, surface: Surface) -> None:
    service, _ = make_service(tmp_path)
    await service.dial(request("310", surface), RecordingReplies())
    assert service.db.store.calls.recent(user_id="U1")[0].surface == surface.value


def test_a_message_offers_only_dialable_numbers_and_counts_the_rest(tmp_path: Path) -> None:
    service, _ = make_service(tmp_path)
    text = (
        "Main 580-867-5309, premium 1-900-976-1234, Jamaica +1 876 555 1234, "
        "London +44 20 7946 0958, sales 1-800-555-0199"
    )
    offer = service.offer_from_message(text)
    assert [n.e164 for n in offer.dialable] == ["+15808675309", "+18005550199"]
    assert offer.left_out == {"premium_rate": 1, "region": 2}


@pytest.mark.parametrize("text", ["933", "<@UCAROL001>"])
async def test_a_special_number_linked_before_the_rule_is_never_dialed(
    tmp_path: Path, text: str
) -> None:
    service, dialer = make_service(tmp_path)
    service.db.store.links.set("UCAROL001", "933", "UADMIN")  # made before extensions were checked
    answer = await service.dial(request(text), RecordingReplies())
    assert answer.outcome == Outcome.REFUSED_SPECIAL_EXTENSION
    assert "emergency, special-services or premium-rate number" in words(answer)
    assert dialer.calls == []


async def test_a_number_with_an_extension_never_reads_as_if_the_extension_were_dialed(
    tmp_path: Path,
) -> None:
    service, dialer = make_service(tmp_path)
    replies = RecordingReplies()
    answer = await service.dial(request("580 867 5309 ext 12"), replies)
    assert answer.placed and dialer.calls == [("309", "15808675309")]
    calling = next(shown for step, shown in replies.seen if step == "calling")
    for said in (words(calling), words(answer)):
        assert "ext. 12" not in said and "+1 580-867-5309" in said
        assert "dial extension 12 yourself" in said
    [row] = service.db.store.calls.recent(user_id="U1")
    assert row.typed == "580 867 5309 ext 12" and row.destination == "+15808675309"


async def test_a_call_that_waited_for_a_pbx_slot_past_its_deadline_is_not_sent_and_may_be_redialed(
    tmp_path: Path,
) -> None:
    """While every slot stays busy, a call is recorded as never sent, and is not held after."""
    seen: list[str] = []

    async def pbx(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["phonenumber"])
        return httpx.Response(200, json={"status": "200", "message": "Success"})

    service, _ = make_service(tmp_path)
    transport = httpx.MockTransport(pbx)
    service.dialer = WebFonesClient(
        "https://pbx.test", "k", transport=transport, max_in_flight=1, total_timeout=0.3
    )
    async with service.dialer._slot():  # the one connection stays busy with another call
        waited = await service.dial(request("580-867-5302", user="U2"), RecordingReplies())
    assert waited.outcome == Outcome.UNREACHABLE and seen == []
    assert "wasn't called" in words(waited)
    [row] = service.db.store.calls.recent(user_id="U2")
    assert (row.outcome, row.destination) == ("unreachable", "+15808675302")
    sent = service.db.store.database.connection().execute(
        "SELECT sent FROM calls WHERE id = ?", [row.id]
    )
    assert sent.fetchone() == (0,)
    again = await service.dial(request("580-867-5302", user="U2"), RecordingReplies())
    assert again.placed and seen == ["15808675302"]  # not held as a repeat: it never rang
    await service.dialer.aclose()


# --- an outcome the store could not write, and store trouble in the log ------------------------


class FlakyFinish:
    """Stands in for store.calls.finish: fails while `failing` (a full disk), then writes."""

    def __init__(self, store: Store) -> None:
        self.finish = store.calls.finish
        self.failing = True
        self.tries = 0

    def __call__(self, call_id: int, **fields: object) -> None:
        self.tries += 1
        if self.failing:
            raise StoreFailed(_full_disk())
        self.finish(call_id, **fields)  # type: ignore[arg-type]


def _full_disk() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = 13  # type: ignore[attr-defined]
    return error


def clocked_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[DialService, Clock, FlakyFinish]:
    """make_service on a store with a settable clock whose finish fails until told."""
    clock = Clock()
    service, _ = make_service(tmp_path)
    store = Store(str(tmp_path / "dialer.db"), clock=clock)
    service.db = StoreRunner(store)
    flaky = FlakyFinish(store)
    monkeypatch.setattr(store.calls, "finish", flaky)
    return service, clock, flaky


async def test_an_outcome_not_recorded_is_written_before_the_next_admission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk was full while the call was at the PBX: the row must not stay pending."""
    service, clock, flaky = clocked_service(tmp_path, monkeypatch)
    caplog.set_level(logging.INFO, logger="bot.services.dialing")
    service.retry_seconds = 3600  # only the next dial writes it, in this test
    first = await service.dial(request("580-867-5309"), RecordingReplies())
    assert first.placed  # the user is told the truth: the phones ring
    assert [r.outcome for r in service.db.store.calls.recent()] == ["pending"]
    assert (
        "could not record the outcome of call 1 (placed): the disk holding DIALER_DB is full"
        in (caplog.text)
    )
    flaky.failing = False
    clock.now += 3  # within the window: held as it would be for the recorded call
    held = await service.dial(request("580-867-5309"), RecordingReplies())
    assert held.outcome == Outcome.HELD_DUPLICATE and held.facts.wait_seconds == 7
    [record] = [r for r in service.db.store.calls.recent() if r.id == 1]
    assert record.outcome == "placed"
    clock.now += 8  # not a second longer than that, though it was written 3 s late
    again = await service.dial(request("580-867-5309"), RecordingReplies())
    assert again.placed
    assert "recorded the outcome of call 1 after all (placed)" in caplog.text


async def test_an_outcome_not_recorded_is_retried_until_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _, flaky = clocked_service(tmp_path, monkeypatch)
    service.retry_seconds = 0.01
    await service.dial(request("580-867-5309"), RecordingReplies())
    await wait_async(lambda: flaky.tries >= 3, "a few retries while the disk is full")
    assert [r.outcome for r in service.db.store.calls.recent()] == ["pending"]
    flaky.failing = False
    await wait_async(
        lambda: [r.outcome for r in service.db.store.calls.recent()] == ["placed"],
        "the outcome written once the disk has room",
    )
    tries = flaky.tries
    await service.drain(1)  # nothing left to write: no more tries
    assert flaky.tries == tries


async def test_an_outcome_never_recorded_is_named_when_stopping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service, _, _ = clocked_service(tmp_path, monkeypatch)
    service.retry_seconds = 3600
    await service.dial(request("580-867-5309"), RecordingReplies())
    await service.drain(1)
    assert (
        "the outcome of 1 call(s) could not be recorded before stopping (calls 1): "
        "the next start records them as interrupted"
    ) in caplog.text
    retrying = [t for t in asyncio.all_tasks() if "_keep_recording" in repr(t.get_coro())]
    assert retrying == [], "the retry task outlived the last try at stopping"


async def test_store_trouble_is_logged_once_not_once_per_refused_dial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service, _ = make_service(tmp_path)
    store = service.db.store

    def full(*args: object, **kwargs: object) -> None:
        raise StoreFailed(_full_disk())

    monkeypatch.setattr(store.calls, "reserve", full)
    for user in ("U1", "U2", "U1"):
        answer = await service.dial(request("580-867-5309", user=user), RecordingReplies())
        assert answer.outcome == Outcome.REFUSED_STORE_FAILED
    lines = [r.getMessage() for r in caplog.records if "not placed" in r.getMessage()]
    assert lines == [
        "call for U1 not placed: the disk holding DIALER_DB is full (database or disk is full): "
        "free some space"
    ]
    os.remove(store.path)  # a different trouble is logged at once
    monkeypatch.undo()
    await service.dial(request("580-867-5309", user="U2"), RecordingReplies())
    lines = [r.getMessage() for r in caplog.records if "not placed" in r.getMessage()]
    assert len(lines) == 2 and "was deleted or moved while the bot was running" in lines[1]
    await service.dial(request("580-867-5309", user="U1"), RecordingReplies())  # not logged
    monkeypatch.setattr("bot.services.dialing.STORE_LOG_SECONDS", 0.0)  # a minute later
    await service.dial(request("580-867-5309", user="U1"), RecordingReplies())
    lines = [r.getMessage() for r in caplog.records if "not placed" in r.getMessage()]
    assert len(lines) == 3 and lines[2].endswith(
        "(1 more refused for this since it was last logged)"
    ), lines
