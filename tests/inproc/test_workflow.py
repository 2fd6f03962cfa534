"""The "Place a call" workflow step end to end, in HTTP mode and in Socket Mode.

Each test runs twice, in-process: once with signed JSON events posted to the bot's HTTP
adapter, once with events_api envelopes over the fake Socket Mode WebSocket. It checks the
PBX's calls, the step's completion, the interactor's DM and the audit rows.
"""

from __future__ import annotations

import time

import pytest

from bot.slack import views
from tests.inproc.harness import World
from tests.inproc.step_driver import ALREADY_HANDLED, StepDriver
from tests.waiting import wait_until

NUMBER = "580-867-5309"
REFUSED_NUMBERS = ("+1 876 555 1234", "1-900-976-1234", "911")
SUCCESS = "functions.completeSuccess"
ERROR = "functions.completeError"


@pytest.fixture
def step(any_world: World) -> StepDriver:
    """A driver for step runs in each mode (signed JSON events, or events_api envelopes)."""
    any_world.slack.reset()  # what starting up sent is forgotten first
    return StepDriver(any_world)


def test_placed_call(step: StepDriver) -> None:
    """One PBX call from the interactor's extension, one completeSuccess with the outputs."""
    # An input naming another person (as a workflow author could add) never picks the caller.
    run = step.new_run(NUMBER, user="UALICE001", user_id="UBOB00001", caller="UBOB00001")
    step.deliver(run)
    end = step.ended(run)
    assert end.method == SUCCESS, end.params
    assert end.token == run.token  # finished with the run's own workflow token
    dm = step.wait_dm("UALICE001")
    ringing = dm.params["text"]
    assert "Your phones on extension 309 are ringing" in ringing and "+1 580-867-5309" in ringing
    assert end.params["outputs"] == {
        "destination": "+15808675309",
        "extension": "309",
        "message": ringing,
        "caller": "UALICE001",
    }
    assert step.calls() == [("309", "15808675309")]
    assert step.completions(run) == [end]
    assert step.dms("UBOB00001") == []
    secret = run.body["event"]["inputs"]["interactivity"]["interactor"]["secret"]
    log = step.world.log
    assert run.token not in log and secret not in log


def test_colleague_by_mention(step: StepDriver) -> None:
    """A `<@U…>` number calls that colleague's extension, as `/dial @colleague` does."""
    run = step.run("<@UBOB00001|bob>", user="UCAROL001")
    end = step.ended(run)
    assert end.method == SUCCESS, end.params
    assert end.params["outputs"]["destination"] == "310"
    assert end.params["outputs"]["extension"] == "311"
    assert step.calls() == [("311", "310")]


def test_retried_run_places_one_call(step: StepDriver) -> None:
    """Slack's retry of a run, or the same run as another event, places no second call."""
    step.pbx.latency = 1.0
    run = step.new_run(NUMBER)
    step.deliver(run)
    step.deliver(run, retry=1)  # Slack's own retry: the same event_id
    step.deliver(run, body=step.duplicate(run))  # the same run under another event_id
    end = step.ended(run)
    assert end.method == SUCCESS, end.params
    step.wait_dm("UALICE001")
    step.wait_logged(ALREADY_HANDLED)
    step.world.idle()
    # A second call would have reached the PBX during the first one's second of latency.
    assert step.pbx.requests == 1
    assert step.calls() == [("309", "15808675309")]
    # Once more after the run has ended: still nothing.
    step.deliver(run, body=step.duplicate(run))
    step.wait_logged(ALREADY_HANDLED, count=2)
    step.world.idle()
    assert step.pbx.requests == 1
    assert step.completions(run) == [end]
    assert len(step.dms("UALICE001")) == 1


def test_refusals_fail_with_the_dial_sentence(step: StepDriver) -> None:
    """Caribbean +1, premium rate, emergency: nothing sent, completeError says what /dial says."""
    for count, number in enumerate(REFUSED_NUMBERS, start=1):
        said = step.dial_reply(number)
        run = step.run(number)
        end = step.ended(run)
        assert end.method == ERROR, (number, end.params)
        assert end.params["error"] == said, number
        assert step.wait_dm("UALICE001", count=count).params["text"] == said
        assert step.completions(run) == [end]
    assert step.pbx.requests == 0


def test_pbx_failure_fails_the_step(step: StepDriver) -> None:
    """The PBX's 'no devices' fails the step with its own sentence, and the interactor hears it."""
    step.pbx.fail_next(400, {"message": "no devices", "details": "No devices available"})
    run = step.run(NUMBER)
    end = step.ended(run)
    assert end.method == ERROR, end.params
    assert "None of the phones on extension 309 is online" in end.params["error"]
    assert step.wait_dm("UALICE001").params["text"] == end.params["error"]
    assert step.pbx.requests == 1
    assert step.completions(run) == [end]


def test_slow_pbx_is_acked_at_once_and_finished_once(step: StepDriver) -> None:
    """The event is acked while the PBX still works; the step completes once it answers."""
    step.pbx.latency = 2.0
    run = step.new_run(NUMBER)
    latency = step.deliver(run)
    assert latency < 1.0
    assert step.completions(run) == []  # the PBX has not answered yet
    end = step.ended(run)
    assert end.method == SUCCESS, end.params
    step.wait_dm("UALICE001")
    assert step.completions(run) == [end]


def test_pbx_timeout_fails_the_step_in_time(step: StepDriver) -> None:
    """A PBX that never answers in WEBFONES_TIMEOUT fails the step then, and nothing follows."""
    step.restart(WEBFONES_TIMEOUT="1")
    step.pbx.hang_next(3.0)
    started = time.monotonic()
    run = step.run(NUMBER)
    end = step.ended(run, timeout=10)
    assert end.method == ERROR, end.params
    assert "didn't answer in time" in end.params["error"]
    assert end.at - started < 3.0  # finished at the bot's timeout, not the PBX's answer
    step.wait_dm("UALICE001")
    # The PBX finally answers, to no one.
    wait_until(lambda: step.pbx.calls, timeout=10, what="the hung PBX request to finish")
    step.world.idle()
    assert step.completions(run) == [end]


def test_no_interactor_fails_and_sends_nothing(step: StepDriver) -> None:
    """A scheduled or event-started run has no interactor: it fails, even naming a user."""
    run = step.run(NUMBER, user=None, user_id="UALICE001")
    end = step.ended(run)
    assert end.method == ERROR, end.params
    assert "needs someone to start it" in end.params["error"]
    assert step.pbx.requests == 0
    assert step.slack.calls_to("chat.postMessage") == []
    assert step.completions(run) == [end]
    [row] = step.audit_rows()  # audited as no one's, never as the user the workflow named
    assert (row["user_id"], row["surface"], row["outcome"]) == (
        "",
        "workflow",
        "refused_no_interactor",
    )
    assert "execution=" in row["detail"]


def test_unlinked_interactor_is_told_what_to_do(step: StepDriver) -> None:
    """An interactor with no extension: completeError says to ask for a link; nothing sent."""
    run = step.run(NUMBER, user="UNOLINK01")
    end = step.ended(run)
    assert end.method == ERROR, end.params
    assert "don't have a phone extension linked" in end.params["error"]
    assert "/dial-link @you EXTENSION" in end.params["error"]
    dm = step.wait_dm("UNOLINK01")
    buttons = [e for b in dm.params["blocks"] for e in b.get("elements", ())]
    assert [b["action_id"] for b in buttons] == [views.REQUEST_LINK]
    assert step.pbx.requests == 0


def test_empty_number_fails_with_what_to_set(step: StepDriver) -> None:
    """A run whose number arrived empty says which field to set; nothing is sent."""
    run = step.run("   ")
    end = step.ended(run)
    assert end.method == ERROR, end.params
    assert "got no number" in end.params["error"] and "Number" in end.params["error"]
    assert step.pbx.requests == 0
    [row] = step.audit_rows()
    assert (row["surface"], row["outcome"]) == ("workflow", "refused_no_number")


def test_every_attempt_is_audited_with_its_run(step: StepDriver) -> None:
    """Placed, refused and unlinked runs are logged with surface workflow and their run ids."""
    runs = [step.run(NUMBER), step.run("+1 876 555 1234"), step.run(NUMBER, user="UNOLINK01")]
    for run in runs:
        step.ended(run)
    rows = [row for row in step.audit_rows() if row["surface"] == "workflow"]
    assert [(r["user_id"], r["extension"], r["destination"], r["outcome"]) for r in rows] == [
        ("UALICE001", "309", "+15808675309", "placed"),
        ("UALICE001", "309", "+18765551234", "refused_region"),
        ("UNOLINK01", None, "+15808675309", "refused_unlinked"),
    ]
    for row, run in zip(rows, runs, strict=True):
        assert f"workflow={run.workflow_execution_id} execution={run.execution_id}" in row["detail"]
    assert step.call_log().count("from a workflow") == 3


def test_budget_counts_workflow_calls_with_dial_calls(step: StepDriver) -> None:
    """DIALER_USER_RATE=2/60: one /dial and one step run spend it; a third run is held."""
    step.restart(DIALER_USER_RATE="2/60")
    assert "Calling" in step.dial_reply(NUMBER)
    second = step.run("604-555-0143")
    assert step.ended(second).method == SUCCESS
    third = step.run("405-555-0143")
    end = step.ended(third)
    assert end.method == ERROR, end.params
    assert "You've placed a lot of calls" in end.params["error"]
    wait_until(lambda: len(step.pbx.calls) >= 2, timeout=10, what="two calls")
    step.world.idle()
    assert sorted(step.calls()) == [("309", "15808675309"), ("309", "16045550143")]
    held = [row for row in step.audit_rows() if row["outcome"] == "held_user_rate"]
    assert [(row["surface"], row["destination"]) for row in held] == [("workflow", "+14055550143")]
