"""The table of outcomes: every outcome has its facts in the domain, its words at the edge."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from bot.domain import outcomes
from bot.domain.facts import Facts
from bot.domain.outcomes import OUTCOMES, Kind, Outcome, OutcomeInfo
from bot.pbx import FAILURE_KINDS
from bot.slack import text
from bot.slack.text.callers import SENTENCES
from bot.slack.text.home import LABELS

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


def check_row(outcome: Outcome, row: OutcomeInfo, labels: dict, sentences: dict) -> None:
    """Fail unless the outcome has a complete row of facts, a label and a sentence."""
    for attribute in dataclasses.fields(OutcomeInfo):
        assert getattr(row, attribute.name, None) is not None, (outcome, attribute.name)
    assert isinstance(row.kind, Kind)
    assert isinstance(row.may_have_rung, bool) and isinstance(row.sent, bool)
    assert row.log_level in (logging.INFO, logging.WARNING, logging.ERROR), outcome
    assert labels.get(outcome, "").strip(), f"{outcome} has no Home label"
    assert outcome in sentences, f"{outcome} has no sentence"
    for plain in (False, True):
        words = sentences[outcome](SAMPLE, text.markup.PLAIN if plain else text.markup.MRKDWN)
        assert isinstance(words, str) and len(words) > 10, outcome


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_has_a_row_a_sentence_and_a_label(outcome: Outcome) -> None:
    assert outcome in OUTCOMES, f"{outcome} is missing from the table"
    check_row(outcome, OUTCOMES[outcome], LABELS, SENTENCES)


def test_a_row_missing_an_attribute_a_label_or_a_sentence_fails_the_check() -> None:
    broken = dataclasses.replace(OUTCOMES[Outcome.PLACED], log_level=None)  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        check_row(Outcome.PLACED, broken, LABELS, SENTENCES)
    row = OUTCOMES[Outcome.PLACED]
    without_label = {k: v for k, v in LABELS.items() if k != Outcome.PLACED}
    with pytest.raises(AssertionError, match="no Home label"):
        check_row(Outcome.PLACED, row, without_label, SENTENCES)
    without_sentence = {k: v for k, v in SENTENCES.items() if k != Outcome.PLACED}
    with pytest.raises(AssertionError, match="no sentence"):
        check_row(Outcome.PLACED, row, LABELS, without_sentence)


def test_the_edge_words_no_outcome_the_domain_does_not_know() -> None:
    assert set(LABELS) == set(OUTCOMES) == set(SENTENCES)


def test_one_way_to_get_a_sentence_in_either_markup() -> None:
    marked = text.sentence(Outcome.REFUSED_UNLINKED, SAMPLE)
    plain = text.sentence(Outcome.REFUSED_UNLINKED, SAMPLE, plain=True)
    assert "`/dial-link" in marked and "`" not in plain


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
    assert text.label("something_new") == "something new"
    assert text.label("placed") == "placed"
