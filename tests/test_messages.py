"""Sentences users read: one per outcome, specific, never a raw error."""

from __future__ import annotations

import json

import pytest

from bot.domain.facts import Facts
from bot.domain.outcomes import Outcome
from bot.pbx import FAILURE_KINDS
from bot.slack import views
from bot.slack.text import admins as admin_text
from bot.slack.text import callers, markup, sentence
from bot.store import CallRecord, Link

CALL = Facts(display="+1 580-867-5309", extension="309", wait_seconds=10)


#: The dialer's own settings are wrong: callers read one sentence; the kind is for admins.
MISCONFIGURED = {Outcome.KEY_MISSING, Outcome.KEY_REJECTED, Outcome.NOT_FOUND}


def test_every_failure_kind_has_its_own_sentence() -> None:
    sentences = {kind: sentence(kind, CALL) for kind in FAILURE_KINDS}
    others = [text for kind, text in sentences.items() if kind not in MISCONFIGURED]
    assert len(set(others)) == len(others)
    assert "may still ring" in sentences[Outcome.TIMEOUT]
    assert "None of the phones on extension 309" in sentences[Outcome.NO_DEVICES]
    assert "+1 580-867-5309" in sentences[Outcome.PBX_ERROR]


def test_a_misconfigured_dialer_tells_the_caller_whom_to_tell_and_no_internals() -> None:
    said = {sentence(kind, CALL) for kind in MISCONFIGURED}
    assert said == {
        "The dialer isn't set up right, so no call was placed. Please tell an admin so they "
        "can fix it."
    }
    assert not {"API key", "address", "misconfigured"} & set(said.pop().split())


def test_failures_that_may_ring_say_how_long_to_wait() -> None:
    assert "within 10 seconds" in sentence(Outcome.PBX_ERROR, CALL)
    assert "wait 10 seconds" in sentence(Outcome.TIMEOUT, CALL)


def test_rate_limited_names_the_wait() -> None:
    facts = Facts(display="310", extension="309", wait_seconds=45)
    assert "in 45 seconds" in sentence(Outcome.RATE_LIMITED, facts)


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (1, "1 second"),
        (20, "20 seconds"),
        (90, "90 seconds"),
        (91, "2 minutes"),  # rounded up: never tell someone to wait less than they must
        (120, "2 minutes"),
        (121, "3 minutes"),
        (900, "15 minutes"),
        (3600, "60 minutes"),
    ],
)
def test_waits_over_90_seconds_read_in_minutes(count: int, words: str) -> None:
    assert markup.seconds(count) == words


def test_a_900_second_hold_reads_15_minutes() -> None:
    held = sentence(Outcome.HELD_PBX_RATE, Facts(display="+1 580-867-5309", wait_seconds=900))
    assert held.endswith("Please try again in 15 minutes.")
    assert "900" not in held


def test_extensions_and_numbers_read_naturally() -> None:
    assert callers.calling(Facts(display="+1 580-867-5309", extension="309")) == (
        ":telephone_receiver: Calling +1 580-867-5309 from extension 309…"
    )
    calling = callers.calling(Facts(display="310", extension="309"))
    assert "Calling extension 310 from extension 309" in calling


@pytest.mark.parametrize(
    ("outcome", "phrase"),
    [
        (Outcome.HELD_DUPLICATE, "Already calling"),
        (Outcome.HELD_MAY_STILL_RING, "may still ring"),
        (Outcome.HELD_USER_RATE, "Please wait 7 seconds"),
        (Outcome.HELD_PBX_RATE, "try again in 7 seconds"),
        (Outcome.HELD_PBX_COOLDOWN, "asked me to slow down, so I'm not sending"),
    ],
)
def test_holds_say_what_to_do(outcome: Outcome, phrase: str) -> None:
    assert phrase in sentence(outcome, Facts(display="+1 580-867-5309", wait_seconds=7))


def test_plain_sentences_carry_no_markup() -> None:
    facts = Facts(admins=("UADMIN001",), typed="abc", colleague="U2")
    for outcome in (
        Outcome.REFUSED_UNLINKED,
        Outcome.REFUSED_NOT_UNDERSTOOD,
        Outcome.REFUSED_COLLEAGUE_UNLINKED,
        Outcome.REFUSED_NO_NUMBER,
    ):
        marked = sentence(outcome, facts)
        plain = sentence(outcome, facts, plain=True)
        assert "`" in marked or "<@" in marked, outcome
        assert "`" not in plain and "<@" not in plain and "*" not in plain, outcome


def test_link_changes_are_described() -> None:
    old = Link("U1", "309", "UA", "2026-01-01T00:00:00Z")
    assert admin_text.linked("U1", "309", None, []) == "Linked <@U1> to extension 309."
    assert admin_text.linked("U1", "310", old, []).startswith("Changed <@U1> from extension 309")
    assert "already linked" in admin_text.linked("U1", "309", old, [])
    assert "also linked to <@U2>" in admin_text.linked("U1", "309", None, ["U2"])


def test_quotes_are_bounded_and_defanged() -> None:
    quoted = markup.quote("`rm -rf` <@U1>" + "x" * 200)
    assert "`" not in quoted and "<" not in quoted and ">" not in quoted
    assert len(quoted) == 60 and quoted.endswith("…")


def test_choice_blocks_offer_one_button_per_number() -> None:
    blocks = views.choose_number([("+1 580-867-5309", "+15808675309"), ("310", "310")])
    buttons = blocks[1]["elements"]
    assert [b["value"] for b in buttons] == ["+15808675309", "310"]
    assert len({b["action_id"] for b in buttons}) == 2


def test_left_out_numbers_are_counted_and_explained() -> None:
    text = callers.several_numbers({"region": 2, "premium_rate": 1})
    assert "3 other numbers aren't shown" in text
    assert "2 in countries this workspace doesn't call" in text and "1 premium-rate" in text


def test_numbers_past_the_25_choices_are_said_to_be_left_out_not_undialable() -> None:
    text = callers.several_numbers({"premium_rate": 1, "over_limit": 3})
    assert "1 other number isn't shown because they can't be dialed from here: 1 premium-rate" in (
        text
    )
    assert "3 more numbers were left out because a message can show only 25 choices" in text
    only_over = callers.several_numbers({"over_limit": 1})
    assert "can't be dialed" not in only_over and "1 more number was left out" in only_over


def shown(view: dict) -> str:
    """A view as JSON with its text readable (dashes and quotes unescaped)."""
    return json.dumps(view, ensure_ascii=False)


def test_home_lines_read_naturally() -> None:
    refused = CallRecord(1, 0.0, "U1", "309", None, "slash", "refused_no_number", None, None, None)
    view = shown(views.home_view(Link("U1", "309", "UA", "x"), [refused]))
    assert "no number found — refused" in view and "*—*" not in view
    typed = CallRecord(2, 0.0, "U1", "309", None, "slash", "refused_not_understood", None, None,
                       None, typed="call bob")  # fmt: skip
    assert "“call bob” — refused (not understood)" in shown(views.home_view(None, [typed]))
    unlinked = shown(views.home_view(None, []))
    assert "Once an admin links you" in unlinked and "No calls yet. Try" not in unlinked
    assert "No calls yet. Try `/dial 580-867-5309`." in json.dumps(
        views.home_view(Link("U1", "309", "UA", "x"), [])
    )


def test_sentences_a_caller_can_act_on() -> None:
    invalid = sentence(Outcome.INVALID_EXTENSION, CALL)
    assert "doesn't recognize extension 309" in invalid
    assert invalid.endswith("Ask an admin to check which extension you're linked to.")
    busy = sentence(Outcome.REFUSED_STORE_BUSY, CALL)
    assert busy.startswith("The dialer is busy right now") and "call log" not in busy
    for said in (
        sentence(Outcome.REFUSED_STORE_FAILED, CALL),
        admin_text.link_not_saved(),
        admin_text.database_unavailable(),
    ):
        assert "logged for whoever runs the dialer" in said and "been told" not in said
        assert said.endswith("tell an admin if it keeps happening.")
    assert "direct message from me" in admin_text.link_requested(["UADMIN001"])
    assert "here" not in admin_text.link_requested(["UADMIN001"])
    assert "direct message from me" in admin_text.link_already_requested()


def test_no_british_spelling_in_what_people_read() -> None:
    from bot.slack.text import home

    labels = " ".join(home.LABELS.values())
    assert "recognised" not in labels and "extension not recognized" in labels


def test_a_long_link_list_is_paged_within_slack_s_message_limit() -> None:
    links = [
        Link(f"U{i:08d}X", str(10000 + i), "UADMIN001", "2026-01-01T00:00:00Z") for i in range(1500)
    ]
    pages = admin_text.link_list_pages(links)
    texts = [admin_text.link_list(links, page) for page in range(1, len(pages) + 1)]
    assert len(pages) > 1 and all(len(text) <= admin_text.MESSAGE_LIMIT for text in texts)
    assert sum(len(page) for page in pages) == 1500  # every link is on exactly one page
    assert "page 1 of" in texts[0] and "`/dial-link list 2`" in texts[0]
    assert "links export" in texts[-1] and "next page" not in texts[-1]
    assert "only" in admin_text.link_list(links, len(pages) + 1)


def test_the_call_log_reads_like_sentences_within_one_message() -> None:
    from bot.store import CallRecord

    record = CallRecord(
        7, 1764840000.0, "U1", "309", "+15808675309", "slash", "placed", 200, 40, ""
    )
    refused = CallRecord(
        8, 1764840001.0, "U1", "309", None, "shortcut", "refused_no_number", None, None, ""
    )
    text = admin_text.call_log([record, refused] * 200, None)
    assert len(text) <= admin_text.MESSAGE_LIMIT
    assert "<@U1> called +1 580-867-5309 from extension 309 with /dial — placed." in text
    assert "called nothing they could dial from extension 309 from a message — " in text
    for internal in ("refused_no_number", "via slash", "(200)"):
        assert internal not in text
