"""Sentences users read: one per outcome, specific, never a raw error."""

from __future__ import annotations

import pytest

from bot import messages
from bot.dialer import FAILURE_KINDS
from bot.store import Held, Link

KINDS = FAILURE_KINDS


def test_every_failure_kind_has_its_own_sentence() -> None:
    sentences = {kind: messages.failure(kind, "+1 580-867-5309", "309") for kind in KINDS}
    assert len(set(sentences.values())) == len(KINDS)
    assert "may still ring" in sentences["timeout"]
    assert "None of the phones on extension 309" in sentences["no_devices"]
    assert "Admins should check" in sentences["key_rejected"]
    assert "+1 580-867-5309" in sentences["pbx_error"]


def test_unknown_kind_reads_as_a_pbx_problem() -> None:
    assert messages.failure("weird", "310", "309") == messages.failure("pbx_error", "310", "309")


def test_rate_limited_names_the_wait() -> None:
    assert "in 120 seconds" in messages.failure("rate_limited", "310", "309", 120)
    assert "in 60 seconds" in messages.failure("rate_limited", "310", "309", None)


def test_extensions_and_numbers_read_naturally() -> None:
    assert messages.calling("+1 580-867-5309", "309") == (
        ":telephone_receiver: Calling +1 580-867-5309 from extension 309…"
    )
    assert "Calling extension 310 from extension 309" in messages.calling("310", "309")


@pytest.mark.parametrize(
    ("reason", "phrase"),
    [
        ("duplicate", "Already calling"),
        ("user_rate", "Please wait 7 seconds"),
        ("pbx_rate", "try again in 7 seconds"),
        ("pbx_cooldown", "slow down"),
    ],
)
def test_holds_say_what_to_do(reason: str, phrase: str) -> None:
    assert phrase in messages.held(Held(reason, 7), "+1 580-867-5309")


def test_link_changes_are_described() -> None:
    old = Link("U1", "309", "UA", "2026-01-01T00:00:00Z")
    assert messages.linked("U1", "309", None, []) == "Linked <@U1> to extension 309."
    assert messages.linked("U1", "310", old, []).startswith("Changed <@U1> from extension 309")
    assert "already linked" in messages.linked("U1", "309", old, [])
    assert "also linked to <@U2>" in messages.linked("U1", "309", None, ["U2"])


def test_quotes_are_bounded_and_defanged() -> None:
    quoted = messages.quote("`rm -rf`" + "x" * 200)
    assert "`" not in quoted and len(quoted) == 60 and quoted.endswith("…")


def test_choice_blocks_offer_one_button_per_number() -> None:
    blocks = messages.choose_number([("+1 580-867-5309", "+15808675309"), ("310", "310")])
    buttons = blocks[1]["elements"]
    assert [b["value"] for b in buttons] == ["+15808675309", "310"]
    assert len({b["action_id"] for b in buttons}) == 2


def test_a_huge_retry_after_is_capped_at_fifteen_minutes() -> None:
    assert "in 900 seconds" in messages.failure("rate_limited", "310", "309", 99_999_999)
