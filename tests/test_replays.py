"""Which names a Slack request goes by, and the middleware that acts on each only once."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.replays import ACTED, ACTED_BATCH, IgnoreRepeats, describe, request_keys
from bot.store import Store
from bot.store.runner import StoreRunner
from tests.fakes.signing import (
    app_home_opened_event,
    block_actions_payload,
    event_callback_body,
    interactive_body,
    message_action_payload,
    slash_command_body,
    slash_command_payload,
    view_submission_payload,
)
from tests.test_store import Clock, read_only_connections

URL = "https://hooks.slack.com/commands/T1/1/x"


def test_commands_and_interactions_go_by_their_trigger_id() -> None:
    command = slash_command_payload(
        "/dial", "310", user_id="U1", response_url=URL, trigger_id="1.2.a"
    )
    assert request_keys(command) == ["trigger:1.2.a"]
    for payload in (
        message_action_payload(user_id="U1", text="x", response_url=URL),
        block_actions_payload(user_id="U1", action_id="dial_choice", value="+1", response_url=URL),
        view_submission_payload(user_id="U1", callback_id="dial_modal", values={}),
    ):
        [key] = request_keys(payload)
        assert key == f"trigger:{payload['trigger_id']}"


def test_events_go_by_their_event_id_and_envelopes_add_their_own() -> None:
    event = json.loads(event_callback_body(app_home_opened_event("U1")))
    assert request_keys(event) == [f"event:{event['event_id']}"]
    assert request_keys(event, "57d6-env") == [f"event:{event['event_id']}", "envelope:57d6-env"]
    assert request_keys({"type": "block_suggestion"}, "e1") == ["envelope:e1"]
    assert request_keys({"type": "block_suggestion"}) == []
    assert request_keys("not a dict") == []
    assert request_keys({"trigger_id": 5}) == []  # only Slack's string ids count


def test_the_log_names_what_was_repeated_and_nothing_else_from_the_request() -> None:
    command = slash_command_payload("/dial", "580", user_id="U1", response_url=URL)
    assert describe(command, {}) == "a slash command /dial"
    event = json.loads(event_callback_body(app_home_opened_event("U1")))
    retry = {"x-slack-retry-num": ["2"], "x-slack-retry-reason": ["http_timeout"]}
    assert describe(event, retry) == "an event app_home_opened (Slack's retry 2: http_timeout)"
    forged = {"x-slack-retry-num": ["1"], "x-slack-retry-reason": ["x\nERROR bot: forged"]}
    assert describe({"command": "/dial\nERROR bot: forged"}, forged) == (
        "a slash command (Slack's retry 1: no reason given)"
    )
    assert describe(event, {"x-slack-retry-num": ["0"]}) == "an event app_home_opened"


class Next:
    """Bolt's next(): counts how often the chain went on to the listeners."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1


@pytest.fixture
def runner(tmp_path: Path) -> StoreRunner:
    return StoreRunner(Store(str(tmp_path / "dialer.db")))


def ok() -> BoltResponse:
    return BoltResponse(status=200, body="")


def signed_request(body: str, **headers: str) -> AsyncBoltRequest:
    return AsyncBoltRequest(body=body, headers=headers)


async def test_a_repeat_is_acked_empty_and_logged_once(
    runner: StoreRunner, caplog: pytest.LogCaptureFixture
) -> None:
    guard, go_on = IgnoreRepeats(runner), Next()
    body = slash_command_body("/dial", "580-867-5309", user_id="U1", response_url=URL)
    first = await guard.async_process(req=signed_request(body), resp=ok(), next=go_on)
    assert first is None and go_on.calls == 1
    with caplog.at_level(logging.INFO, logger="bot.slack.replays"):
        again = await guard.async_process(req=signed_request(body), resp=ok(), next=go_on)
    assert go_on.calls == 1
    assert again is not None and (again.status, again.body) == (200, "")
    assert [r.getMessage() for r in caplog.records] == ["ignored a repeat of a slash command /dial"]
    assert "580" not in caplog.text


async def test_a_store_that_cannot_be_written_lets_the_request_through(
    runner: StoreRunner, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listener then answers for the store; the claim never turns into a 500."""
    guard, go_on = IgnoreRepeats(runner), Next()
    runner.store.close()
    read_only_connections(monkeypatch)
    body = interactive_body(
        block_actions_payload(user_id="U1", action_id="dial_choice", value="+1", response_url=URL)
    )
    with caplog.at_level(logging.WARNING, logger="bot.slack.replays"):
        await guard.async_process(req=signed_request(body), resp=ok(), next=go_on)
    assert go_on.calls == 1
    # Whoever acts on the request logs the failed store (once per cause): not the guard too.
    assert "DIALER_DB is read-only" not in caplog.text
    monkeypatch.undo()  # writable again: the same request is now claimed, then refused
    await guard.async_process(req=signed_request(body), resp=ok(), next=go_on)
    await guard.async_process(req=signed_request(body), resp=ok(), next=go_on)
    assert go_on.calls == 2


async def test_a_retry_of_an_event_never_seen_is_handled(runner: StoreRunner) -> None:
    """X-Slack-Retry-Num says Slack *may* have delivered it: only a known event_id is dropped."""
    guard, go_on = IgnoreRepeats(runner), Next()
    body = event_callback_body(app_home_opened_event("U1"))
    retry = {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
    await guard.async_process(req=signed_request(body, **retry), resp=ok(), next=go_on)
    assert go_on.calls == 1  # the first delivery never reached us (we were down)
    retry["x-slack-retry-num"] = "2"
    await guard.async_process(req=signed_request(body, **retry), resp=ok(), next=go_on)
    assert go_on.calls == 1


async def test_a_burst_of_acks_marks_every_claim_acted_in_a_few_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mark per ack would be a write and a flush each; a burst's marks share a few writes.

    Every claim is still marked: once its process is gone, another one sees a repeat.
    """
    path, clock = str(tmp_path / "dialer.db"), Clock()
    first = Store(path, clock=clock)
    first.processes.heartbeat()
    writes: list[int] = []
    mark = first.claims.acted
    monkeypatch.setattr(
        first.claims, "acted", lambda *keys: (writes.append(len(keys)), mark(*keys))
    )
    guard, go_on = IgnoreRepeats(StoreRunner(first)), Next()
    burst = ACTED_BATCH + 100
    requests = []
    for i in range(burst):
        body = slash_command_body(
            "/dial", "310", user_id="U1", response_url=URL, trigger_id=f"T{i}"
        )
        requests.append(signed_request(body))
        await guard.async_process(req=requests[-1], resp=ok(), next=go_on)
    assert go_on.calls == burst
    for request in requests[:10]:  # the first acks go out, and their marks are being written
        request.context[ACTED]()
    await asyncio.sleep(0)
    for request in requests[10:]:  # the rest of the burst is acked meanwhile
        request.context[ACTED]()
    async with asyncio.timeout(10):
        while sum(writes) < burst:
            await asyncio.sleep(0.01)
    assert sum(writes) == burst and len(writes) <= 3 and max(writes) <= ACTED_BATCH, writes
    first.processes.leave()
    clock.now += 20
    second = Store(path, clock=clock)
    second.processes.heartbeat()
    assert not any(second.claims.claim(f"trigger:T{i}") for i in range(burst))
