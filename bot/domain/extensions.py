"""Which digits may be linked as an extension, for a region: the one rule every way to link uses.

A linked extension is sent to the PBX as the number to ring (`/dial @colleague`). When the PBX
has no such extension it may route the digits out to the phone network, so an extension must
never be something the network answers as emergency or special services: the region's
emergency numbers and free public-service short numbers (phonenumbers' short-number data), the
emergency numbers people dial from habit anywhere, and any of those behind an outside-line
prefix (9 or 0) or, for the region's own numbers, the country calling code ("1 911").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import PhoneNumber, ShortNumberCost, shortnumberinfo

from bot.domain.ids import EXTENSION

#: Emergency numbers dialled from habit wherever people are (911 North America, 112 Europe and
#: mobiles, 999 the UK and others, 000 Australia, 110 Germany, Japan and China); refused even
#: where the region's metadata does not list them.
HABIT_EMERGENCY = frozenset({"112", "911", "999", "000", "110"})
#: Digits that get an outside line on common PBX dial plans.
OUTSIDE_LINE_PREFIXES = ("9", "0")


class Kind(StrEnum):
    """Why digits can't be linked."""

    SHAPE = "shape"  # not 2 to 8 ASCII digits
    EMERGENCY = "emergency"  # an emergency number of the region
    SPECIAL = "special"  # a free public-service short number of the region (crisis, test line)
    HABIT = "habit"  # an emergency number elsewhere, dialled from habit anywhere


@dataclass(frozen=True)
class Problem:
    """Why an extension can't be linked: what was given, what it reaches, and through what."""

    extension: str
    kind: Kind
    region: str = ""  # the region whose data says so (EMERGENCY, SPECIAL)
    number: str = ""  # the number it reaches (without the prefix)
    outside_line: str = ""  # the outside-line prefix in front of `number`, if any
    country_code: str = ""  # the region's calling code in front of `number`, if any


def shape_problem(text: str) -> Problem | None:
    """A SHAPE problem unless text is 2 to 8 ASCII digits; needs no region."""
    return None if EXTENSION.match(text) else Problem(text, Kind.SHAPE)


def _short_number(digits: str, region: str) -> PhoneNumber:
    """Digits as a short number dialled in region, keeping leading zeros ("000", "0911")."""
    zeros = len(digits) - len(str(int(digits)))
    return PhoneNumber(
        country_code=phonenumbers.country_code_for_region(region),
        national_number=int(digits),
        italian_leading_zero=zeros > 0 or None,
        number_of_leading_zeros=zeros or None,
    )


def _regional_kind(digits: str, region: str) -> Kind | None:
    """EMERGENCY or SPECIAL when the region's short-number data says the digits are one."""
    if shortnumberinfo.is_emergency_number(digits, region):
        return Kind.EMERGENCY
    number = _short_number(digits, region)
    if (
        shortnumberinfo.is_valid_short_number_for_region(number, region)
        and not shortnumberinfo.is_carrier_specific_for_region(number, region)
        and shortnumberinfo.expected_cost_for_region(number, region) == ShortNumberCost.TOLL_FREE
    ):
        return Kind.SPECIAL
    return None


def _bare(digits: str, region: str) -> Problem | None:
    """The problem of digits dialled as they are: the region's numbers, then the habit ones."""
    kind = _regional_kind(digits, region)
    if kind is not None:
        return Problem(digits, kind, region=region, number=digits)
    if digits in HABIT_EMERGENCY:
        return Problem(digits, Kind.HABIT, number=digits)
    return None


def special_problem(digits: str, region: str) -> Problem | None:
    """Why digits reach emergency or special services when the PBX dials them out, or None."""
    if not digits.isascii() or not digits.isdigit():
        return None
    bare = _bare(digits, region)
    if bare is not None:
        return bare
    prefix, rest = digits[:1], digits[1:]
    if prefix in OUTSIDE_LINE_PREFIXES and len(rest) >= 2:
        behind = _bare(rest, region)
        if behind is not None:
            return Problem(digits, behind.kind, behind.region, rest, outside_line=prefix)
    code = str(phonenumbers.country_code_for_region(region))
    rest = digits.removeprefix(code)
    if rest != digits and len(rest) >= 2:
        kind = _regional_kind(rest, region)
        if kind is not None:
            return Problem(digits, kind, region, rest, country_code=code)
    return None


def linkable_problem(text: str, region: str) -> Problem | None:
    """None when text may be linked as an extension under region; else why not."""
    return shape_problem(text) or special_problem(text, region)


def is_special_extension(digits: str, region: str) -> bool:
    """Whether digits (say, a link made before this rule) reach emergency or special services."""
    return special_problem(digits, region) is not None
