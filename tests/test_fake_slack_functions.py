"""The fake Slack finishes workflow step runs as Slack does, for the real slack_sdk and Bolt."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.signing import (
    event_callback_body,
    function_executed_event,
    interactivity_input,
    signed_headers,
)
from tests.fakes.slack import FakeSlack

BOT_TOKEN = "xoxb-test-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running FakeSlack."""
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        yield fake


def test_complete_success_records_decoded_outputs_and_finishes_the_run(
    fake_slack: FakeSlack,
) -> None:
    token = fake_slack.function_token("Fx1")
    web = WebClient(token=token, base_url=fake_slack.api_url)
    web.functions_completeSuccess(function_execution_id="Fx1", outputs={"extension": "309"})
    [call] = fake_slack.completions("Fx1")
    assert call.method == "functions.completeSuccess"
    assert call.params["outputs"] == {"extension": "309"}
    assert call.token == token
    with pytest.raises(SlackApiError) as again:
        web.functions_completeError(function_execution_id="Fx1", error="too late")
    assert again.value.response["error"] == "execution_not_in_running_state"
    assert len(fake_slack.completions("Fx1")) == 2  # every attempt is recorded


def test_complete_error_needs_an_error_and_the_runs_own_token(fake_slack: FakeSlack) -> None:
    web = WebClient(token=fake_slack.function_token("Fx1"), base_url=fake_slack.api_url)
    with pytest.raises(SlackApiError) as other_run:
        web.functions_completeError(function_execution_id="Fx2", error="nope")
    assert other_run.value.response["error"] == "access_denied"
    with pytest.raises(SlackApiError) as empty:
        web.functions_completeError(function_execution_id="Fx1", error="")
    assert empty.value.response["error"] == "invalid_arguments"
    web.functions_completeError(function_execution_id="Fx1", error="no extension linked")
    assert fake_slack.completions("Fx1")[-1].params["error"] == "no extension linked"


def test_unknown_tokens_are_refused(fake_slack: FakeSlack) -> None:
    web = WebClient(token="xwfp-made-up", base_url=fake_slack.api_url)
    with pytest.raises(SlackApiError) as refused:
        web.functions_completeSuccess(function_execution_id="Fx1", outputs={})
    assert refused.value.response["error"] == "invalid_auth"


def test_wait_for_completion_fails_with_what_was_called(fake_slack: FakeSlack) -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match="neither completed nor failed"):
        fake_slack.wait_for_completion("Fx404", timeout=0.2)
    assert time.monotonic() - started < 2


async def test_bolt_finishes_a_function_executed_event_with_the_events_token(
    fake_slack: FakeSlack,
) -> None:
    """The event builder's shape is what Bolt's app.function() routes, with bot_access_token."""
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url),
        signing_secret=SECRET,
    )
    seen: dict = {}

    @app.function("place_call")
    async def handle(inputs: dict, complete) -> None:
        seen.update(inputs)
        await complete(outputs={"caller": inputs["interactivity"]["interactor"]["id"]})

    token = fake_slack.function_token("Fx9")
    inputs = {"interactivity": interactivity_input("UALICE001"), "number": "580-867-5309"}
    event = function_executed_event(
        callback_id="place_call", inputs=inputs, function_execution_id="Fx9", bot_access_token=token
    )
    body = event_callback_body(event, event_id="Ev9")
    headers = signed_headers(body, SECRET, content_type="application/json")
    response = await app.async_dispatch(
        AsyncBoltRequest(body=body, headers={k: [v] for k, v in headers.items()})
    )
    assert response.status == 200
    # The listener runs after the ack, on this loop: wait for it off the loop.
    call = await asyncio.to_thread(fake_slack.wait_for_completion, "Fx9", 5)
    # ... and for the listener to read the fake's answer, so no task outlives this test's loop.
    listeners = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    if listeners:
        await asyncio.wait(listeners, timeout=5)
    assert call.token == token
    assert call.params["outputs"] == {"caller": "UALICE001"}
    assert seen["number"] == "580-867-5309"
    assert json.loads(body)["event"]["workflow_execution_id"].startswith("Wx")
