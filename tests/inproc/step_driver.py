"""Runs of the "Place a call" workflow step, delivered over HTTP or Socket Mode alike.

A `StepDriver` sends `function_executed` events the way Slack does (signed JSON to the
request URL, or an `events_api` envelope over the WebSocket), and reads back what the step
did: its `functions.completeSuccess` / `completeError`, the interactor's DM, the PBX's
calls and the audit rows.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from tests.fakes.signing import (
    event_callback_body,
    function_executed_event,
    interactivity_input,
    retry_headers,
    signed_headers,
)
from tests.fakes.slack import ApiCall, dm_channel
from tests.inproc.harness import ACK_SECONDS, World
from tests.waiting import wait_until
from tests.workspace import SIGNING_SECRET

PLACE_CALL = "place_call"
#: What the bot logs for a delivery of a run it already acted on.
ALREADY_HANDLED = "already handled"


@dataclass(frozen=True)
class StepRun:
    """One run of the step: its ids, its workflow token and the event Slack sends for it."""

    execution_id: str
    workflow_execution_id: str
    token: str
    body: dict[str, Any]


class StepDriver:
    """Sends runs of the step to the bot under test and reads how each one ended."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.slack = world.slack
        self.pbx = world.pbx
        self._numbers = itertools.count(1)

    # --- sending ------------------------------------------------------------------------------

    def new_run(self, number: str | None, user: str | None = "UALICE001", **inputs: Any) -> StepRun:
        """A run started by `user` (None: by no one, as a scheduled workflow is)."""
        n = next(self._numbers)
        tag = uuid.uuid4().hex[:8].upper()
        execution_id = f"Fx{n:03d}{tag}"
        workflow_execution_id = f"Wx{n:03d}{tag}"
        if user is not None:
            inputs["interactivity"] = interactivity_input(user)
        if number is not None:
            inputs["number"] = number
        token = self.slack.function_token(execution_id)
        event = function_executed_event(
            callback_id=PLACE_CALL,
            inputs=inputs,
            function_execution_id=execution_id,
            bot_access_token=token,
            workflow_execution_id=workflow_execution_id,
        )
        body = json.loads(event_callback_body(event, event_id=f"Ev{n:03d}{tag}"))
        return StepRun(execution_id, workflow_execution_id, token, body)

    def deliver(self, run: StepRun, *, retry: int = 0, body: dict | None = None) -> float:
        """Send the run's event (Slack's retry number `retry`); assert the 3 s ack; answer it."""
        payload = body or run.body
        socket = self.world.socket
        if self.world.mode == "socket":
            assert socket is not None
            envelope_id = socket.send_envelope(
                "events_api",
                payload,
                accepts_response_payload=False,
                retry_attempt=retry,
                retry_reason="timeout" if retry else "",
            )
            socket.wait_ack(envelope_id, timeout=ACK_SECONDS + 2)
            latency = socket.ack_latency(envelope_id)
            assert latency is not None
        else:
            text_body = json.dumps(payload)
            headers = signed_headers(text_body, SIGNING_SECRET, content_type="application/json")
            headers.update(retry_headers(retry) if retry else {})
            status, text, latency = self.world.post_raw(text_body, headers)
            assert status == 200, text
        assert latency < ACK_SECONDS, f"late ack: {latency:.2f}s"
        return latency

    def duplicate(self, run: StepRun) -> dict[str, Any]:
        """The same run delivered again as a new event (another event_id), as a replay is."""
        body = json.loads(json.dumps(run.body))
        body["event_id"] = "Ev" + uuid.uuid4().hex[:12].upper()
        return body

    def run(self, number: str | None, user: str | None = "UALICE001", **inputs: Any) -> StepRun:
        """Start a run and deliver it once."""
        run = self.new_run(number, user, **inputs)
        self.deliver(run)
        return run

    # --- reading what happened -----------------------------------------------------------------

    def ended(self, run: StepRun, timeout: float = 10.0) -> ApiCall:
        """How the run ended: its first functions.completeSuccess or completeError."""
        return self.slack.wait_for_completion(run.execution_id, timeout)

    def completions(self, run: StepRun) -> list[ApiCall]:
        """Every completion the bot sent for the run."""
        return self.slack.completions(run.execution_id)

    def dms(self, user: str) -> list[ApiCall]:
        """Messages the bot sent to the user's DM."""
        channel = dm_channel(user)
        posts = self.slack.calls_to("chat.postMessage")
        return [call for call in posts if call.params["channel"] == channel]

    def wait_dm(self, user: str, count: int = 1, timeout: float = 10.0) -> ApiCall:
        """The count-th DM to the user, once it was sent."""
        found = wait_until(
            lambda: self.dms(user)[count - 1 :], timeout=timeout, what=f"DM #{count} to {user}"
        )
        return found[0]

    def wait_logged(self, text: str, count: int = 1, timeout: float = 10.0) -> None:
        """Block until the bot logged `text` `count` times."""
        self.world.wait_logged(text, count, timeout)

    def dial_reply(self, text: str, user: str = "UALICE001") -> str:
        """What `/dial TEXT` answers at once (its ack's text)."""
        _, ack, _ = self.world.dial(text, user=user)
        return ack["text"]

    def call_log(self) -> str:
        """What an admin's `/dial-link log` answers."""
        _, ack, _ = self.world.link("log")
        return ack["text"]

    def calls(self) -> list[tuple[str, str]]:
        """What the PBX was asked to dial, as (extension, phonenumber)."""
        return [(c.extension, c.phonenumber) for c in self.pbx.calls]

    def audit_rows(self) -> list[dict[str, Any]]:
        """The audit log, oldest first, read from the bot's SQLite file."""
        with sqlite3.connect(f"file:{self.world.db_path}?mode=ro", uri=True) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM calls ORDER BY id").fetchall()
        return [dict(row) for row in rows]

    def restart(self, **env: str) -> None:
        """Restart the bot with extra settings (the database, and so the links, stay)."""
        self.world.restart(**env)
