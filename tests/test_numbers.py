"""Tests for bot.domain.numbers: reading typed numbers and the destination policy."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from bot.domain.numbers import (
    Destination,
    Refusal,
    check_destination,
    find_numbers,
    is_emergency,
    read_number,
    resolve_external,
    strip_slack_markup,
)
from bot.slack.text import sentence
from bot.slack.text.countries import country_name, describe_regions

US_CA = frozenset({"US", "CA"})


def said(refusal: Refusal | Destination) -> str:
    """The sentence the user reads for a refusal (a destination has none)."""
    assert isinstance(refusal, Refusal), refusal
    return sentence(refusal.outcome, refusal.facts)


JENNY = Destination(
    pbx_digits="15808675309", e164="+15808675309", display="+1 580-867-5309", region="US"
)
LONDON = Destination(
    pbx_digits="442079460958", e164="+442079460958", display="+44 20 7946 0958", region="GB"
)


def example(region: str, kind: PhoneNumberType) -> Destination:
    """A Destination for phonenumbers' own example number of a type, so it is surely valid."""
    number = phonenumbers.example_number_for_type(region, kind)
    assert number is not None, (region, kind)
    text = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    dest = read_number(text, region)
    assert dest is not None, text
    return dest


# --- strip_slack_markup --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<tel:+15808675309|+1 580-867-5309>", "+15808675309"),
        ("<tel:+15808675309>", "+15808675309"),
        ("<TEL:5808675309|580-867-5309>", "5808675309"),
        ("tel:+1-580-867-5309", "+1-580-867-5309"),
        ("  tel:+1-580-867-5309  ", "+1-580-867-5309"),
        ("tel:%2B15808675309", "+15808675309"),
        ("<mailto:j@example.com|j@example.com>", "<mailto:j@example.com|j@example.com>"),
        ("<https://example.com|site>", "<https://example.com|site>"),
        ("  580-867-5309\n", "580-867-5309"),
        ("", ""),
    ],
)
def test_strip_slack_markup(text: str, expected: str) -> None:
    assert strip_slack_markup(text) == expected


# --- read_number ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "580-867-5309",
        "580.867.5309",
        "580 867 5309",
        "(580) 867-5309",
        "(580)867-5309",
        "5808675309",
        "1-580-867-5309",
        "1 (580) 867-5309",
        "+1 580 867 5309",
        "+15808675309",
        "+1-580-867-5309",
        "tel:+1-580-867-5309",
        "tel:+15808675309",
        "<tel:+15808675309|+1 580-867-5309>",
        "<tel:5808675309|580-867-5309>",
        "  580-867-5309  ",
    ],
)
def test_read_number_accepts_every_form(text: str) -> None:
    assert read_number(text, "US") == JENNY


def test_read_number_reads_foreign_numbers_in_e164_and_international_dialing() -> None:
    assert read_number("+44 20 7946 0958", "US") == LONDON
    assert read_number("011 44 20 7946 0958", "US") == LONDON
    assert read_number("020 7946 0958", "GB") == LONDON


def test_read_number_region_comes_from_phonenumbers() -> None:
    dest = read_number("+1 876 555 1234", "US")
    assert dest is not None
    assert dest.region == "JM"
    assert dest.pbx_digits == "18765551234"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "310", "555-1234", "911", "+", "tel:", "<tel:|x>", "212-055-1234", "1" * 30],
)
def test_read_number_returns_none_for_non_numbers(text: str) -> None:
    assert read_number(text, "US") is None


def test_read_number_rejects_absurd_lengths() -> None:
    assert read_number("580-867-5309" + " " * 10 + "x" * 60, "US") is None
    assert read_number("5" * 65, "US") is None


def test_read_number_with_unknown_default_region_needs_a_plus() -> None:
    assert read_number("580-867-5309", "ZZ") is None
    assert read_number("+1 580-867-5309", "ZZ") == JENNY


# --- find_numbers --------------------------------------------------------------------------------


def test_find_numbers_tel_tokens_first_then_plain_numbers_deduplicated() -> None:
    text = (
        "Call me at 580.867.5309 or the office <tel:+442079460958|+44 20 7946 0958>; "
        "again: <tel:+15808675309|580-867-5309>, +44 20 7946 0958, (580) 867-5309 "
        "or 1-800-555-0199."
    )
    found = find_numbers(text, "US")
    assert [d.e164 for d in found] == ["+442079460958", "+15808675309", "+18005550199"]
    assert found[0] == LONDON
    assert found[1] == JENNY


def test_find_numbers_counts_a_tel_token_once_even_with_its_label() -> None:
    assert find_numbers("<tel:+15808675309|+1 580-867-5309>", "US") == [JENNY]


def test_find_numbers_ignores_digits_inside_links_but_reads_labels() -> None:
    text = "join <https://zoom.us/j/2125550123> or <https://example.com|call 580-867-5309>"
    assert find_numbers(text, "US") == [JENNY]


def test_find_numbers_empty_and_invalid() -> None:
    assert find_numbers("", "US") == []
    assert find_numbers("no numbers here, just 911 and extension 310", "US") == []
    assert find_numbers("<tel:12345|12345>", "US") == []


# --- is_emergency --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["911", "112", "999", "+1 911", "9-1-1", "9.1.1", " 911 ", "tel:911", "<tel:911|911>", "1-911"],
)
def test_is_emergency_true(text: str) -> None:
    assert is_emergency(text, "US", ["US", "CA"])


def test_is_emergency_checks_extra_regions_and_the_numbers_own_region() -> None:
    assert not is_emergency("000", "US")
    assert is_emergency("000", "US", ["AU"])
    assert is_emergency("+44 999", "US")
    assert is_emergency("+61 000", "US")


@pytest.mark.parametrize(
    "text", ["580-867-5309", "911911", "+1 911 555 1234", "310", "", "abc", "1-800-555-0199"]
)
def test_is_emergency_false(text: str) -> None:
    assert not is_emergency(text, "US", ["US", "CA"])


# --- country_name / describe_regions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "name"),
    [
        ("US", "the United States"),
        ("GB", "the United Kingdom"),
        ("CA", "Canada"),
        ("JM", "Jamaica"),
        ("DO", "the Dominican Republic"),
        ("BS", "the Bahamas"),
        ("KY", "the Cayman Islands"),
        ("IM", "the Isle of Man"),
        ("VC", "Saint Vincent and the Grenadines"),
        ("CD", "the Democratic Republic of the Congo"),
        ("MX", "Mexico"),
        ("us", "the United States"),
        ("XX", "an unknown country"),
        ("", "an unknown country"),
        (None, "an unknown country"),
    ],
)
def test_country_name(region: str | None, name: str) -> None:
    assert country_name(region) == name


def test_every_supported_region_has_a_name() -> None:
    for region in phonenumbers.SUPPORTED_REGIONS:
        assert country_name(region) != "an unknown country", region


@pytest.mark.parametrize(
    ("regions", "text"),
    [
        (["CA"], "Canada"),
        (["US", "CA"], "the United States and Canada"),
        (frozenset({"CA", "US"}), "the United States and Canada"),
        (["MX", "CA", "US"], "the United States, Canada and Mexico"),
        (["us", "US", "ca"], "the United States and Canada"),
        ([], "no countries"),
    ],
)
def test_describe_regions(regions: list[str] | frozenset[str], text: str) -> None:
    assert describe_regions(regions) == text


# --- check_destination ---------------------------------------------------------------------------


def test_check_destination_allows_home_and_toll_free() -> None:
    assert check_destination(JENNY, US_CA) is None
    assert check_destination(example("US", PhoneNumberType.TOLL_FREE), US_CA) is None
    assert check_destination(example("CA", PhoneNumberType.FIXED_LINE), US_CA) is None


def test_check_destination_refuses_other_countries_naming_them() -> None:
    refusal = check_destination(LONDON, US_CA)
    assert (refusal.reason, said(refusal)) == (
        "region",
        "+44 20 7946 0958 is in the United Kingdom; "
        "this workspace only allows calls to the United States and Canada.",
    )


@pytest.mark.parametrize(("region", "name"), [("JM", "Jamaica"), ("BS", "the Bahamas")])
def test_check_destination_refuses_caribbean_plus_one(region: str, name: str) -> None:
    dest = example(region, PhoneNumberType.FIXED_LINE)
    assert dest.e164.startswith("+1")
    refusal = check_destination(dest, US_CA)
    assert refusal is not None
    assert refusal.reason == "region"
    assert f"{dest.display} is in {name};" in said(refusal)


def test_check_destination_refuses_premium_rate_even_at_home() -> None:
    dest = example("US", PhoneNumberType.PREMIUM_RATE)
    refusal = check_destination(dest, US_CA)
    assert refusal is not None
    assert refusal.reason == "premium_rate"
    assert dest.display in said(refusal)
    assert "premium-rate numbers can't be dialed from Slack" in said(refusal)


def test_check_destination_refuses_shared_cost_even_at_home() -> None:
    dest = example("FR", PhoneNumberType.SHARED_COST)
    refusal = check_destination(dest, frozenset({"FR"}))
    assert refusal is not None
    assert refusal.reason == "shared_cost"
    assert dest.display in said(refusal)
    assert "shared-cost numbers can't be dialed from Slack" in said(refusal)


def test_check_destination_recomputes_region_rather_than_trusting_the_field() -> None:
    forged = Destination(LONDON.pbx_digits, LONDON.e164, LONDON.display, region="US")
    refusal = check_destination(forged, US_CA)
    assert refusal is not None
    assert refusal.reason == "region"


def test_check_destination_refuses_non_geographic_numbers() -> None:
    dest = read_number("+800 1234 5678", "US")
    assert dest is not None
    refusal = check_destination(dest, US_CA)
    assert refusal is not None
    assert refusal.reason == "region"
    assert "no single country" in said(refusal)


def test_check_destination_with_nothing_allowed() -> None:
    refusal = check_destination(JENNY, frozenset())
    assert refusal is not None
    assert "doesn't allow calls to any country" in said(refusal)


# --- resolve_external: the acceptance numbers ----------------------------------------------------


def test_acceptance_plain_us_number_is_dialable() -> None:
    assert resolve_external("580-867-5309", "US", US_CA) == JENNY


def test_acceptance_toll_free_is_dialable() -> None:
    assert resolve_external("1-800-555-0199", "US", US_CA) == Destination(
        pbx_digits="18005550199", e164="+18005550199", display="+1 800-555-0199", region="US"
    )


def test_acceptance_1_900_is_refused_as_premium_rate() -> None:
    result = resolve_external("1-900-976-1234", "US", US_CA)
    assert isinstance(result, Refusal)
    assert result.reason == "premium_rate"
    assert said(result).startswith("+1 900-976-1234 is a premium-rate number")


def test_acceptance_jamaica_is_refused_by_country() -> None:
    result = resolve_external("+1 876 555 1234", "US", US_CA)
    assert (result.reason, said(result)) == (
        "region",
        "+1 876-555-1234 is in Jamaica; "
        "this workspace only allows calls to the United States and Canada.",
    )


def test_acceptance_united_kingdom_is_refused_by_country() -> None:
    result = resolve_external("+44 20 7946 0958", "US", US_CA)
    assert isinstance(result, Refusal)
    assert result.reason == "region"
    assert "the United Kingdom" in said(result)
    assert "the United States and Canada" in said(result)


@pytest.mark.parametrize("text", ["911", "9-1-1", "+1 911", "<tel:911|911>", "112", "999"])
def test_acceptance_emergency_is_refused_with_advice(text: str) -> None:
    result = resolve_external(text, "US", US_CA)
    assert isinstance(result, Refusal)
    assert result.reason == "emergency"
    assert "can't place emergency calls" in said(result)
    assert "from a phone directly" in said(result)
    assert "dispatcher sees where you are" in said(result)


def test_emergency_advice_names_the_number_typed() -> None:
    result = resolve_external("9-1-1", "US", US_CA)
    assert isinstance(result, Refusal)
    assert "Dial 911 from a phone directly" in said(result)


# --- resolve_external: other refusals ------------------------------------------------------------


def test_not_understood_quotes_the_text() -> None:
    result = resolve_external("abc", "US", US_CA)
    assert (result.reason, said(result)) == (
        "not_understood",
        "I couldn't read “abc” as a phone number. "
        "Try something like `/dial 580-867-5309` or `/dial +1 604 555 0143`.",
    )


def test_not_understood_quotes_safely() -> None:
    result = resolve_external("`hello` <!here> " + "x" * 200, "US", US_CA)
    assert isinstance(result, Refusal)
    assert result.reason == "not_understood"
    quoted = said(result).split("“", 1)[1].split("”", 1)[0]
    assert "`" not in quoted
    assert "<" not in quoted
    assert quoted.endswith("…")
    assert len(quoted) <= 60


@pytest.mark.parametrize("text", ["", "310", "555-1234", "call me", "\n"])
def test_not_understood_for_short_and_empty(text: str) -> None:
    result = resolve_external(text, "US", US_CA)
    assert isinstance(result, Refusal)
    assert result.reason == "not_understood"


def test_invalid_but_plausible_number_is_refused_as_invalid() -> None:
    result = resolve_external("212-055-1234", "US", US_CA)
    assert isinstance(result, Refusal)
    assert result.reason == "invalid"
    assert "+1 212-055-1234 isn't a valid phone number" in said(result)


def test_invalid_number_in_a_foreign_plus_one_country_is_refused_for_the_country() -> None:
    assert read_number("+1 242 555 1234", "US") is None
    result = resolve_external("+1 242 555 1234", "US", US_CA)
    assert isinstance(result, Refusal)
    assert result.reason == "region"
    assert "is in the Bahamas;" in said(result)


def test_resolve_external_honours_other_allowed_sets() -> None:
    assert resolve_external("+44 20 7946 0958", "US", frozenset({"GB"})) == LONDON
    result = resolve_external("580-867-5309", "US", frozenset({"GB"}))
    assert isinstance(result, Refusal)
    assert "only allows calls to the United Kingdom" in said(result)


def test_resolve_external_accepts_lowercase_allowed_regions() -> None:
    assert resolve_external("580-867-5309", "US", frozenset({"us"})) == JENNY


def test_resolve_external_reads_slack_tokens() -> None:
    assert resolve_external("<tel:+15808675309|+1 580-867-5309>", "US", US_CA) == JENNY
    assert resolve_external("tel:+1-580-867-5309", "US", US_CA) == JENNY


# --- properties ----------------------------------------------------------------------------------

BAD_TYPES = {PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST}
REGIONS = st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS))
number_like = st.text(alphabet="0123456789+-(). tel:<>|#*", max_size=40)
digits_after_plus = st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z", fullmatch=True)
any_text = st.one_of(st.text(max_size=120), number_like, digits_after_plus)


def assert_safe(result: Destination | Refusal, allowed: frozenset[str]) -> None:
    """A Destination must be a valid, allowed, non-premium number."""
    if isinstance(result, Refusal):
        assert result.reason in {
            "not_understood",
            "emergency",
            "region",
            "premium_rate",
            "shared_cost",
            "invalid",
        }
        assert said(result)
        return
    number = phonenumbers.parse(result.e164)
    assert phonenumbers.is_valid_number(number)
    assert result.region in allowed
    assert phonenumbers.region_code_for_number(number) in allowed
    assert phonenumbers.number_type(number) not in BAD_TYPES
    assert result.pbx_digits == result.e164[1:]
    assert result.pbx_digits.isdigit()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_text, default_region=REGIONS, allowed=st.frozensets(REGIONS, max_size=4))
def test_resolve_external_never_raises_and_never_returns_a_forbidden_destination(
    text: str, default_region: str, allowed: frozenset[str]
) -> None:
    result = resolve_external(text, default_region, allowed)
    assert_safe(result, allowed)
    if is_emergency(text, default_region, allowed):
        assert isinstance(result, Refusal)
        assert result.reason == "emergency"


@settings(max_examples=300)
@given(text=any_text)
def test_resolve_external_default_settings_property(text: str) -> None:
    result = resolve_external(text, "US", US_CA)
    assert_safe(result, US_CA)
    if is_emergency(text, "US", US_CA):
        assert not isinstance(result, Destination)


@settings(max_examples=300)
@given(text=st.text(max_size=300), default_region=REGIONS)
def test_readers_never_raise(text: str, default_region: str) -> None:
    dest = read_number(text, default_region)
    assert dest is None or phonenumbers.is_valid_number(phonenumbers.parse(dest.e164))
    for found in find_numbers(text, default_region):
        assert phonenumbers.is_valid_number(phonenumbers.parse(found.e164))
    is_emergency(text, default_region, ["US", "GB"])
    strip_slack_markup(text)


@given(
    region=st.sampled_from(["US", "CA", "GB", "FR", "DE", "AU", "JM"]),
    kind=st.sampled_from(
        [
            PhoneNumberType.FIXED_LINE,
            PhoneNumberType.MOBILE,
            PhoneNumberType.TOLL_FREE,
            PhoneNumberType.PREMIUM_RATE,
            PhoneNumberType.SHARED_COST,
        ]
    ),
)
def test_example_numbers_of_every_type_obey_policy(region: str, kind: PhoneNumberType) -> None:
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None:
        return
    text = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    result = resolve_external(text, "US", US_CA)
    assert_safe(result, US_CA)
    if kind in BAD_TYPES:
        assert isinstance(result, Refusal)


def test_local_short_codes_are_not_emergencies_for_another_country() -> None:
    """311 is a US city-services code (and a common extension), not an emergency number."""
    assert not is_emergency("311", "US", ["US", "CA"])
    assert is_emergency("1-911", "US", ["US", "CA"])


def test_personal_forwarding_numbers_are_refused() -> None:
    """NANP 5XX personal numbers forward anywhere at the caller's cost: a toll-fraud classic."""
    result = resolve_external("+1 500 555 0100", "US", frozenset({"US", "CA"}))
    assert isinstance(result, Refusal) and result.reason == "personal_number"
    assert "+1 500-555-0100" in said(result)
