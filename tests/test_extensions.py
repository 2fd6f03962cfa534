"""The one rule for linkable extensions: shape, the region's special numbers, habit and prefixes."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from phonenumbers.phonemetadata import PhoneMetadata

from bot.domain.extensions import (
    Kind,
    Problem,
    is_special_extension,
    linkable_problem,
    shape_problem,
    special_problem,
)
from bot.slack.text import admins as admin_text

# Extensions offices really use, and every one the other tests link; all must stay linkable.
ORDINARY = [
    "10", "15", "45", "99", "100", "101", "200", "300", "309", "310", "311", "312", "313",
    "319", "320", "321", "330", "400", "412", "420", "421", "422", "500", "611", "800", "900",
    "1000", "1110", "1234", "2000", "4321", "5000", "9001", "12345", "911911", "12345678",
]  # fmt: skip


@pytest.mark.parametrize("extension", ORDINARY)
def test_ordinary_extensions_stay_linkable_in_the_us(extension: str) -> None:
    assert linkable_problem(extension, "US") is None


@pytest.mark.parametrize("region", ["CA", "FR", "DE", "GB", "AU", "JP"])
@pytest.mark.parametrize("extension", ["100", "200", "309", "310", "311", "4321"])
def test_ordinary_extensions_stay_linkable_elsewhere(extension: str, region: str) -> None:
    assert linkable_problem(extension, region) is None


@pytest.mark.parametrize("region", ["US", "GB", "FR", "DE"])
@pytest.mark.parametrize("extension", ["309", "4100", "9309", "1234", "24680", "51000"])
def test_stacking_prefixes_does_not_refuse_ordinary_extensions(extension: str, region: str) -> None:
    assert linkable_problem(extension, region) is None


@pytest.mark.parametrize(
    ("extension", "region"),
    [
        ("911911", "US"),  # 9 1 1 911 would need the US's "1" twice: one prefix, not two
        ("11911", "US"),
        ("24280", "US"),  # a premium-rate SMS code: texted, never reached by a call
        ("40000", "FR"),  # France's 5-digit SMS codes: ordinary 5-digit extensions stay linkable
        ("91000", "US"),  # a habit number is never behind the region's own country code
    ],
)
def test_what_a_call_cannot_reach_stays_linkable(extension: str, region: str) -> None:
    assert linkable_problem(extension, region) is None


@pytest.mark.parametrize(
    ("extension", "region", "kind", "number"),
    [
        ("911", "US", Kind.EMERGENCY, "911"),
        ("112", "US", Kind.EMERGENCY, "112"),
        ("933", "US", Kind.SPECIAL, "933"),  # the 911 address test line
        ("988", "US", Kind.SPECIAL, "988"),  # the suicide and crisis line
        ("000", "US", Kind.HABIT, "000"),
        ("110", "US", Kind.HABIT, "110"),
        ("999", "US", Kind.HABIT, "999"),
        ("9911", "US", Kind.EMERGENCY, "911"),
        ("0911", "US", Kind.EMERGENCY, "911"),
        ("9112", "US", Kind.EMERGENCY, "112"),
        ("0112", "US", Kind.EMERGENCY, "112"),
        ("9933", "US", Kind.SPECIAL, "933"),
        ("0988", "US", Kind.SPECIAL, "988"),
        ("9000", "US", Kind.HABIT, "000"),
        ("0110", "US", Kind.HABIT, "110"),
        ("9999", "US", Kind.HABIT, "999"),
        ("1911", "US", Kind.EMERGENCY, "911"),  # "1 911": the country code in front
        ("15", "FR", Kind.EMERGENCY, "15"),  # SAMU
        ("17", "FR", Kind.EMERGENCY, "17"),
        ("015", "FR", Kind.EMERGENCY, "15"),
        ("915", "FR", Kind.EMERGENCY, "15"),
        ("33112", "FR", Kind.EMERGENCY, "112"),
        ("3315", "FR", Kind.PREMIUM, "3315"),  # France's 3200-3999 are premium-rate lines
        ("116000", "FR", Kind.SPECIAL, "116000"),  # the European missing-children hotline
        ("000", "AU", Kind.EMERGENCY, "000"),
        ("0000", "AU", Kind.EMERGENCY, "000"),
        ("110", "DE", Kind.EMERGENCY, "110"),
        ("110", "JP", Kind.EMERGENCY, "110"),
        ("119", "JP", Kind.EMERGENCY, "119"),
        ("999", "GB", Kind.EMERGENCY, "999"),
        ("988", "CA", Kind.SPECIAL, "988"),
        # Prefixes stacked, in any order: outside line, country code, national (trunk) prefix.
        ("91911", "US", Kind.EMERGENCY, "911"),
        ("01911", "US", Kind.EMERGENCY, "911"),
        ("19911", "US", Kind.EMERGENCY, "911"),
        ("10911", "US", Kind.EMERGENCY, "911"),
        ("91112", "US", Kind.EMERGENCY, "112"),
        ("91988", "US", Kind.SPECIAL, "988"),
        ("33015", "FR", Kind.EMERGENCY, "15"),
        ("033015", "FR", Kind.EMERGENCY, "15"),
        ("0015", "FR", Kind.EMERGENCY, "15"),
        ("90999", "GB", Kind.EMERGENCY, "999"),
        ("944999", "GB", Kind.EMERGENCY, "999"),
        ("90112", "DE", Kind.EMERGENCY, "112"),
        # Premium-rate short numbers a call reaches.
        ("3617", "FR", Kind.PREMIUM, "3617"),
        ("118712", "FR", Kind.PREMIUM, "118712"),
        ("93617", "FR", Kind.PREMIUM, "3617"),
        ("0333617", "FR", Kind.PREMIUM, "3617"),
        ("12456", "AU", Kind.PREMIUM, "12456"),
    ],
)
def test_emergency_and_special_numbers_are_refused(
    extension: str, region: str, kind: Kind, number: str
) -> None:
    problem = linkable_problem(extension, region)
    assert problem is not None and (problem.kind, problem.number) == (kind, number)
    assert problem.extension == extension
    assert is_special_extension(extension, region)


def test_the_region_decides() -> None:
    assert linkable_problem("15", "US") is None
    assert linkable_problem("15", "FR") == Problem("15", Kind.EMERGENCY, "FR", "15")
    assert linkable_problem("933", "FR") is None
    assert linkable_problem("000", "AU") == Problem("000", Kind.EMERGENCY, "AU", "000")
    assert linkable_problem("000", "US") == Problem("000", Kind.HABIT, number="000")


def test_the_prefix_is_named() -> None:
    assert special_problem("9911", "US") == Problem(
        "9911", Kind.EMERGENCY, "US", "911", outside_line="9"
    )
    assert special_problem("0000", "US") == Problem(
        "0000", Kind.HABIT, number="000", outside_line="0"
    )
    assert special_problem("1911", "US") == Problem(
        "1911", Kind.EMERGENCY, "US", "911", country_code="1"
    )
    # The country code only goes in front of the region's own numbers, not the habit ones:
    assert special_problem("1000", "US") is None and special_problem("1110", "US") is None


def test_stacked_prefixes_are_named_in_the_order_dialed() -> None:
    nine_one = special_problem("91911", "US")
    assert nine_one == Problem("91911", Kind.EMERGENCY, "US", "911", "9", "1")
    assert nine_one.prefixes() == (("outside_line", "9"), ("country_code", "1"))
    one_nine = special_problem("19911", "US")
    assert one_nine is not None
    assert one_nine.prefixes() == (("country_code", "1"), ("outside_line", "9"))
    france = special_problem("033015", "FR")
    assert france == Problem("033015", Kind.EMERGENCY, "FR", "15", "0", "33", "0")
    assert [kind for kind, _ in france.prefixes()] == [
        "outside_line",
        "country_code",
        "trunk_prefix",
    ]


def _example_emergency_numbers() -> list[tuple[str, str]]:
    """(region, example emergency number) for every region phonenumbers gives one for."""
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_SHORT_REGIONS):
        emergency = PhoneMetadata.short_metadata_for_region(region).emergency
        if emergency is not None and emergency.example_number:
            examples.append((region, emergency.example_number))
    return examples


@pytest.mark.parametrize(("region", "example"), _example_emergency_numbers())
def test_every_region_s_example_emergency_number_is_refused(region: str, example: str) -> None:
    assert special_problem(example, region) is not None
    assert special_problem("9" + example, region) is not None


@pytest.mark.parametrize("text", ["", "3", "123456789", "30x", "３０９", "+911", " 309", "9-11"])
def test_only_2_to_8_ascii_digits_have_the_shape(text: str) -> None:
    assert shape_problem(text) == Problem(text, Kind.SHAPE)
    assert linkable_problem(text, "US") == Problem(text, Kind.SHAPE)
    assert not is_special_extension(text, "US")


def test_shape_needs_no_region() -> None:
    assert shape_problem("309") is None and shape_problem("911") is None


REFUSED = [("933", "US"), ("988", "US"), ("9911", "US"), ("0911", "US"), ("000", "US")]
REFUSED += [("110", "US"), ("1911", "US"), ("15", "FR"), ("000", "AU"), ("3x", "US")]
REFUSED += [("91911", "US"), ("19911", "US"), ("3617", "FR"), ("033015", "FR"), ("90999", "GB")]


@pytest.mark.parametrize(("extension", "region"), REFUSED)
def test_each_refusal_says_why_in_slack_and_in_plain_text(extension: str, region: str) -> None:
    problem = linkable_problem(extension, region)
    assert problem is not None
    slack = admin_text.extension_refused(problem)
    plain = admin_text.extension_refused(problem, plain=True)
    assert extension in slack
    assert not re.search(r"[*_`~<>]", plain), plain
    if problem.kind != Kind.SHAPE:
        assert slack == plain and "can't be linked as an extension" in plain
        assert admin_text.extension_refusal_reason(problem) in plain


def test_the_sentences_name_the_country_and_the_prefix() -> None:
    def said(extension: str, region: str) -> str:
        problem = linkable_problem(extension, region)
        assert problem is not None
        return admin_text.extension_refused(problem)

    assert said("15", "FR").startswith("15 is an emergency number in France, so it can't be")
    assert said("000", "AU").startswith("000 is an emergency number in Australia")
    assert said("933", "US").startswith("933 is a special-services number in the United States")
    assert "other countries" in said("110", "US")
    nine = said("9911", "US")
    assert nine.startswith("9911 is 911 behind the outside-line prefix 9, and 911 is an emergency")
    assert "where 9 gets an outside line, a call to 9911 is a call to 911" in nine
    assert "country code 1" in said("1911", "US")
    assert said("91911", "US").startswith(
        "91911 is 911 behind the outside-line prefix 9 and the country code 1, and 911 is an "
        "emergency number in the United States, so it can't be linked as an extension: on a PBX "
        "where 9 gets an outside line, a call to 91911 is a call to 1911."
    )
    assert said("19911", "US").startswith(
        "19911 is 911 behind the country code 1 and the outside-line prefix 9, and 911"
    )
    assert said("033015", "FR").startswith(
        "033015 is 15 behind the outside-line prefix 0, the country code 33 and the national "
        "dialing prefix 0, and 15 is an emergency number in France"
    )
    assert said("3617", "FR").startswith(
        "3617 is a premium-rate number in France (a short number that charges the caller"
    )
    assert said("3x", "US") == admin_text.bad_extension("3x")
    assert "2 to 8 digits" in admin_text.extension_refused(Problem("3x", Kind.SHAPE), plain=True)
