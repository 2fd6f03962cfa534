"""The "Place a call" workflow step end to end in HTTP mode (signed JSON events).

The behaviours are written once in tests/e2e/workflow_cases.py; this file runs them here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The cases live in a helper module: have pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.e2e.workflow_cases")

from tests.e2e import workflow_cases as cases  # noqa: E402
from tests.e2e.conftest import World  # noqa: E402
from tests.e2e.step_driver import StepDriver  # noqa: E402


@pytest.fixture
def step(world: World) -> Iterator[StepDriver]:
    """A driver for step runs; what setting up the links sent is forgotten first."""
    world.slack.reset()
    yield StepDriver(world)


def test_placed_call(step: StepDriver) -> None:
    cases.placed_call(step)


def test_colleague_by_mention(step: StepDriver) -> None:
    cases.colleague_by_mention(step)


def test_retried_run_places_one_call(step: StepDriver) -> None:
    cases.retried_run_places_one_call(step)


def test_refusals_fail_with_the_dial_sentence(step: StepDriver) -> None:
    cases.refusals_fail_with_the_dial_sentence(step)


def test_pbx_failure_fails_the_step(step: StepDriver) -> None:
    cases.pbx_failure_fails_the_step(step)


def test_slow_pbx_is_acked_at_once_and_finished_once(step: StepDriver) -> None:
    cases.slow_pbx_is_acked_at_once_and_finished_once(step)


def test_pbx_timeout_fails_the_step_in_time(step: StepDriver) -> None:
    cases.pbx_timeout_fails_the_step_in_time(step)


def test_no_interactor_fails_and_sends_nothing(step: StepDriver) -> None:
    cases.no_interactor_fails_and_sends_nothing(step)


def test_unlinked_interactor_is_told_what_to_do(step: StepDriver) -> None:
    cases.unlinked_interactor_is_told_what_to_do(step)


def test_empty_number_fails_with_what_to_set(step: StepDriver) -> None:
    cases.empty_number_fails_with_what_to_set(step)


def test_every_attempt_is_audited_with_its_run(step: StepDriver) -> None:
    cases.every_attempt_is_audited_with_its_run(step)


def test_budget_counts_workflow_calls_with_dial_calls(step: StepDriver) -> None:
    cases.budget_counts_workflow_calls_with_dial_calls(step)
