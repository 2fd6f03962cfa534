"""Which digits may be linked as an extension, for a region: the one rule every way to link uses.

A linked extension is sent to the PBX as the number to ring (`/dial @colleague`). When the PBX
has no such extension it may route the digits out to the phone network, so an extension must
never be something the network answers as emergency, special services or a premium-rate line:
the region's emergency numbers, free public-service short numbers and premium-rate short numbers
(phonenumbers' short-number data; premium SMS-only codes are left out, as a call can't reach
them), and the emergency numbers people dial from habit anywhere. Prefixes stack: any of those
behind an outside-line prefix (9 or 0), and the region's own behind its country calling code
and/or its national (trunk) prefix too, in that order ("9 1 911", "0 33 0 15").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from itertools import permutations

import phonenumbers
from phonenumbers import PhoneNumber, ShortNumberCost, shortnumberinfo
from phonenumbers.phonemetadata import PhoneMetadata

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
    PREMIUM = "premium"  # a premium-rate short number of the region (paid information lines)
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
    trunk_prefix: str = ""  # the region's national (trunk) prefix in front of `number`, if any

    def prefixes(self) -> tuple[tuple[str, str], ...]:
        """(field name, digits) of each prefix in front of `number`, in the order dialed."""
        found = {
            "outside_line": self.outside_line,
            "country_code": self.country_code,
            "trunk_prefix": self.trunk_prefix,
        }
        present = [(name, digits) for name, digits in found.items() if digits]
        front = self.extension[: len(self.extension) - len(self.number)]
        for order in permutations(present):
            if "".join(digits for _, digits in order) == front:
                return order
        return tuple(present)


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


@cache
def _regional_kind(digits: str, region: str) -> Kind | None:
    """EMERGENCY, SPECIAL or PREMIUM when the region's short-number data says the digits are one.

    SPECIAL is a free public service (carrier-specific ones, like a carrier's 611, are only the
    carrier's help line); PREMIUM is any premium-rate short number a call can reach (codes the
    data lists as SMS services are texted, not called, and cover whole ranges such as France's
    5-digit 30000-89999, so leaving them out keeps ordinary 5-digit extensions linkable).
    """
    if shortnumberinfo.is_emergency_number(digits, region):
        return Kind.EMERGENCY
    number = _short_number(digits, region)
    if not shortnumberinfo.is_valid_short_number_for_region(number, region):
        return None
    cost = shortnumberinfo.expected_cost_for_region(number, region)
    if cost == ShortNumberCost.TOLL_FREE:
        return (
            None if shortnumberinfo.is_carrier_specific_for_region(number, region) else Kind.SPECIAL
        )
    if cost == ShortNumberCost.PREMIUM_RATE:
        sms_only = shortnumberinfo.is_sms_service_for_region(number, region)
        return None if sms_only else Kind.PREMIUM
    return None


@cache
def _trunk_prefix(region: str) -> str:
    """The region's national (trunk) prefix, "0" in France, "1" in the US; "" when it has none."""
    metadata = PhoneMetadata.metadata_for_region(region)
    return (metadata.national_prefix or "") if metadata is not None else ""


def _splits(digits: str, region: str) -> Iterator[tuple[str, str, str, str]]:
    """Every (outside line, country code, trunk prefix, number) reading of digits, fewest first.

    Each prefix at most once, in any order ("9 1 911" and "1 9 911"); the number left is 2 digits
    or more. Fewer prefixes first, so a reading names no more than it needs ("1911" in the US:
    one prefix, the country code 1, the same digit as the trunk prefix).
    """
    choices = {
        "outside_line": OUTSIDE_LINE_PREFIXES,
        "country_code": (str(phonenumbers.country_code_for_region(region) or ""),),
        "trunk_prefix": (_trunk_prefix(region),),
    }
    code, trunk = choices["country_code"][0], choices["trunk_prefix"][0]
    same = {"country_code", "trunk_prefix"} if code == trunk else set()
    readings: list[tuple[int, dict[str, str], str]] = []

    def peel(rest: str, taken: dict[str, str]) -> None:
        if len(rest) < 2:
            return
        readings.append((len(taken), taken, rest))
        # First dialed, 9 or 0 is the outside line; after a prefix, a 0 is the trunk ("33 0 15").
        order = list(choices) if not taken else ["country_code", "trunk_prefix", "outside_line"]
        for kind in order:
            for prefix in choices[kind]:
                if kind in taken or not prefix or not rest.startswith(prefix):
                    continue
                if kind in same and same & taken.keys():
                    continue  # "1" is the US's country code and trunk prefix: one prefix, not two
                peel(rest[len(prefix) :], {**taken, kind: prefix})

    peel(digits, {})
    seen: set[tuple[str, str, str, str]] = set()
    for _, taken, rest in sorted(readings, key=lambda reading: reading[0]):
        line, code, trunk = (taken.get(kind, "") for kind in choices)
        if (line, code, trunk, rest) not in seen:
            seen.add((line, code, trunk, rest))
            yield line, code, trunk, rest


def special_problem(digits: str, region: str) -> Problem | None:
    """Why digits reach emergency, special or premium services when the PBX dials them out."""
    if not digits.isascii() or not digits.isdigit():
        return None
    for outside_line, country_code, trunk_prefix, number in _splits(digits, region):
        prefixes = {
            "outside_line": outside_line,
            "country_code": country_code,
            "trunk_prefix": trunk_prefix,
        }
        kind = _regional_kind(number, region)
        if kind is not None:
            return Problem(digits, kind, region, number, **prefixes)
        # The country code and the trunk prefix lead into this region's network, where another
        # country's emergency number is just digits; the outside line leads anywhere.
        if number in HABIT_EMERGENCY and not (country_code or trunk_prefix):
            return Problem(digits, Kind.HABIT, number=number, outside_line=outside_line)
    return None


def linkable_problem(text: str, region: str) -> Problem | None:
    """None when text may be linked as an extension under region; else why not."""
    return shape_problem(text) or special_problem(text, region)


def is_special_extension(digits: str, region: str) -> bool:
    """Whether digits (say, a link made before this rule) reach emergency or special services."""
    return special_problem(digits, region) is not None
