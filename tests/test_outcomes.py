"""The table of outcomes: every outcome says all the rest of the code asks of it."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from bot.domain import outcomes
from bot.domain.outcomes import OUTCOMES, Kind, Outcome, OutcomeInfo
from bot.pbx import FAILURE_KINDS
from bot.slack.messages import Facts

SAMPLE = Facts(
    display="+1 580-867-5309",
    extension="309",
    typed="abc",
    wait_seconds=5,
    region="JM",
    allowed_regions=frozenset({"US"}),
    digits="911",
    colleague="U2",
    admins=("UADMIN001",),
)


def check_row(outcome: Outcome, row: OutcomeInfo) -> None:
    """Fail unless the row answers every question the code asks of an outcome."""
    for attribute in dataclasses.fields(OutcomeInfo):
        assert getattr(row, attribute.name, None) is not None, (outcome, attribute.name)
    assert isinstance(row.kind, Kind)
    assert isinstance(row.may_have_rung, bool) and isinstance(row.sent, bool)
    assert row.label.strip(), outcome
    assert row.log_level in (logging.INFO, logging.WARNING, logging.ERROR), outcome
    text = row.sentence(SAMPLE)
    assert isinstance(text, str) and len(text) > 10, outcome


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_has_a_complete_row(outcome: Outcome) -> None:
    assert outcome in OUTCOMES, f"{outcome} is missing from the table"
    check_row(outcome, OUTCOMES[outcome])


def test_a_row_missing_an_attribute_fails_the_check() -> None:
    broken = dataclasses.replace(OUTCOMES[Outcome.PLACED], label="")
    with pytest.raises(AssertionError):
        check_row(Outcome.PLACED, broken)
    broken = dataclasses.replace(OUTCOMES[Outcome.PLACED], sentence=None)  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        check_row(Outcome.PLACED, broken)


def test_every_pbx_failure_kind_is_a_failure_outcome() -> None:
    assert set(FAILURE_KINDS) <= set(outcomes.of_kind(Kind.FAILURE))


def test_what_may_have_rung_is_what_the_duplicate_guard_holds() -> None:
    assert set(outcomes.may_have_rung()) == {
        "placed",
        "timeout",
        "pbx_error",
        "error",
        "interrupted",
    }


def test_refusals_and_holds_never_count_as_sent() -> None:
    for outcome, row in OUTCOMES.items():
        if row.kind in (Kind.REFUSED, Kind.HELD):
            assert not row.sent and not row.may_have_rung, outcome
    assert not OUTCOMES[Outcome.UNREACHABLE].sent


def test_unknown_names_read_back_from_an_old_log_still_get_a_label() -> None:
    assert outcomes.label("something_new") == "something new"
