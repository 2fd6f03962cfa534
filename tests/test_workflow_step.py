"""Reading a run of the Place a call step: only Slack's interactor is ever the caller."""

from __future__ import annotations

import pytest

from bot.domain.facts import Facts
from bot.slack.listeners.workflow import interactor, number_input, run_context
from bot.slack.text import callers


def test_the_interactor_is_who_slack_says_clicked() -> None:
    inputs = {"interactivity": {"interactor": {"id": "UALICE001", "secret": "s"}}}
    assert interactor(inputs) == "UALICE001"
    assert interactor({"interactivity": {"interactor": {"id": "W0123ABCD"}}}) == "W0123ABCD"


@pytest.mark.parametrize(
    "inputs",
    [
        {},
        {"interactivity": None},
        {"interactivity": "UALICE001"},
        {"interactivity": {"interactivity_pointer": "1.2.abc"}},
        {"interactivity": {"interactor": "UALICE001"}},
        {"interactivity": {"interactor": {"id": "<@UALICE001>"}}},
        {"interactivity": {"interactor": {"id": 42}}},
        # Inputs a workflow's author could fill in name no caller.
        {"user_id": "UALICE001", "caller": "UALICE001", "interactor": {"id": "UALICE001"}},
    ],
)
def test_anything_else_is_no_interactor(inputs: dict) -> None:
    assert interactor(inputs) is None


def test_the_number_is_read_as_text() -> None:
    assert number_input({"number": "  580-867-5309 "}) == "580-867-5309"
    assert number_input({"number": 5808675309}) == ""
    assert number_input({}) == ""


def test_the_audit_detail_names_both_runs() -> None:
    event = {"function_execution_id": "Fx1", "workflow_execution_id": "Wx2"}
    assert run_context(event) == "workflow=Wx2 execution=Fx1"
    assert run_context({"function_execution_id": "Fx1"}) == "workflow=- execution=Fx1"


def test_the_steps_own_sentences_say_what_to_do() -> None:
    assert "button" in callers.workflow_needs_interactor(Facts())
    assert "form" in callers.workflow_needs_interactor(Facts())
    assert "Number" in callers.workflow_no_number()
    for sentence in (callers.workflow_needs_interactor(Facts()), callers.workflow_no_number()):
        assert "`" not in sentence and "<" not in sentence  # the run log shows no markup
