"""Typed text to a dialable destination (via phonenumbers), and which destinations may be dialed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberMatcher,
    PhoneNumberType,
    shortnumberinfo,
)

from bot.domain.facts import Facts
from bot.domain.outcomes import Outcome

# Longest text read_number will look at; nothing dialable is longer, and phonenumbers' regexes
# should never be handed a whole essay from a slash command.
MAX_NUMBER_TEXT = 64

# Dialled from habit wherever people are; refused even when the default region's metadata does
# not list them (999 is not an emergency number to US metadata, but someone typing it means it).
_WELL_KNOWN_EMERGENCY = frozenset({"112", "911", "999"})

# Slack's link token: <tel:+15808675309|580-867-5309> or <https://...|label> or <https://...>.
_SLACK_TOKEN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_TEL_TOKEN = re.compile(r"<tel:([^<>|]*)(?:\|[^<>]*)?>", re.IGNORECASE)
_TEL_PREFIX = re.compile(r"^tel:", re.IGNORECASE)


@dataclass(frozen=True)
class Destination:
    """A dialable external number."""

    pbx_digits: str
    e164: str
    display: str
    region: str | None
    #: An extension typed after the number ("ext 12"): the PBX cannot dial it, so the caller
    #: dials it by hand once connected.
    extension: str = ""


@dataclass(frozen=True)
class Refusal:
    """Why a destination may not be dialed: the outcome and the facts its sentence needs."""

    outcome: Outcome
    display: str = ""
    e164: str | None = None
    region: str | None = None
    digits: str = ""
    typed: str = ""
    allowed_regions: frozenset[str] = frozenset()

    @property
    def reason(self) -> str:
        """The outcome without its "refused_" prefix ("premium_rate", "region" …)."""
        return self.outcome.value.removeprefix("refused_")

    @property
    def facts(self) -> Facts:
        """What a sentence needs to word this refusal."""
        return Facts(
            display=self.display,
            region=self.region,
            digits=self.digits,
            typed=self.typed,
            allowed_regions=self.allowed_regions,
        )


# --- reading ------------------------------------------------------------------------------------


def strip_slack_markup(text: str) -> str:
    """Unwrap Slack <tel:…|…> tokens and a tel: prefix, so phonenumbers sees only the number."""
    unwrapped = _TEL_TOKEN.sub(lambda m: unquote(m.group(1)), text).strip()
    if _TEL_PREFIX.match(unwrapped):
        unwrapped = unquote(_TEL_PREFIX.sub("", unwrapped, count=1)).strip()
    return unwrapped


def _parse(text: str, default_region: str) -> PhoneNumber | None:
    """Parse with phonenumbers, or None; never raises, so no caller has to care."""
    if not text or len(text) > MAX_NUMBER_TEXT:
        return None
    try:
        return phonenumbers.parse(text, default_region)
    except NumberParseException:
        return None


def _destination(number: PhoneNumber) -> Destination:
    """Build the Destination for a parsed number, all fields derived by phonenumbers.

    The display leaves out an extension typed after the number: the PBX dials only the number,
    so the extension is kept apart, for the caller to dial by hand.
    """
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    bare = PhoneNumber()
    bare.merge_from(number)
    bare.extension = None
    return Destination(
        pbx_digits=e164.removeprefix("+"),
        e164=e164,
        display=phonenumbers.format_number(bare, PhoneNumberFormat.INTERNATIONAL),
        region=phonenumbers.region_code_for_number(number),
        extension=number.extension or "",
    )


def _read_cleaned(cleaned: str, default_region: str) -> Destination | None:
    """The valid number in already-unwrapped text, or None."""
    number = _parse(cleaned, default_region)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return _destination(number)


def read_number(text: str, default_region: str) -> Destination | None:
    """The one valid number in a typed text, or None; never raises, whatever the text."""
    return _read_cleaned(strip_slack_markup(text), default_region)


def _without_slack_links(text: str) -> str:
    """Replace Slack links by their label, so digits inside URLs are not taken for numbers."""
    return _SLACK_TOKEN.sub(lambda m: f" {m.group(2) or ''} ", text)


def _tel_token_numbers(text: str, default_region: str) -> list[Destination]:
    """Valid numbers from the URL part of every Slack <tel:…|…> token, in order."""
    found = (read_number(unquote(m.group(1)), default_region) for m in _TEL_TOKEN.finditer(text))
    return [dest for dest in found if dest is not None]


def _matched_numbers(text: str, default_region: str) -> list[Destination]:
    """Valid numbers phonenumbers' matcher finds in free text, in order."""
    return [_destination(match.number) for match in PhoneNumberMatcher(text, default_region)]


def find_numbers(text: str, default_region: str) -> list[Destination]:
    """Every distinct valid number in a Slack message, tel tokens first, for "dial from message"."""
    rest = _without_slack_links(_TEL_TOKEN.sub(" ", text))
    found = _tel_token_numbers(text, default_region) + _matched_numbers(rest, default_region)
    distinct: dict[str, Destination] = {}
    for dest in found:
        distinct.setdefault(dest.e164, dest)
    return list(distinct.values())


# --- emergency ----------------------------------------------------------------------------------


def _country_code_candidates(number: PhoneNumber) -> tuple[list[str], list[str]]:
    """National digits to test (also minus a dialled country code: "1 911") and their regions."""
    national = phonenumbers.national_significant_number(number)
    code = str(number.country_code)
    candidates = [national]
    if national.startswith(code) and len(national) > len(code):
        candidates.append(national[len(code) :])
    return candidates, list(phonenumbers.region_codes_for_country_code(number.country_code))


def _emergency_digits(cleaned: str, default_region: str, regions: Iterable[str]) -> str | None:
    """The emergency number that cleaned text dials, or None when it is not one."""
    if not cleaned or len(cleaned) > MAX_NUMBER_TEXT:
        return None
    digits = phonenumbers.normalize_digits_only(cleaned)
    if digits in _WELL_KNOWN_EMERGENCY:
        return digits
    tried = dict.fromkeys((default_region, *regions))  # once each: US is usually in both
    if any(shortnumberinfo.is_emergency_number(cleaned, r) for r in tried):
        return digits
    home_code = str(phonenumbers.country_code_for_region(default_region))
    if digits.startswith(home_code) and shortnumberinfo.is_emergency_number(
        digits[len(home_code) :], default_region
    ):
        return digits[len(home_code) :]
    if not cleaned.lstrip().startswith(("+", "00")):
        # Only a number written with its country code reaches another country's short codes
        # ("+44 999"); a bare "311" is a local short code or an extension, not Jamaica's.
        return None
    number = _parse(cleaned, default_region)
    if number is None:
        return None
    candidates, own_regions = _country_code_candidates(number)
    for candidate in candidates:
        if any(shortnumberinfo.is_emergency_number(candidate, r) for r in own_regions):
            return candidate
    return None


def is_emergency(text: str, default_region: str, extra_regions: Iterable[str] = ()) -> bool:
    """Whether text dials an emergency service, which the bot must never call for anyone."""
    cleaned = strip_slack_markup(text)
    return _emergency_digits(cleaned, default_region, tuple(extra_regions)) is not None


# --- policy -------------------------------------------------------------------------------------


def _region_refusal(
    display: str, e164: str, region: str | None, allowed: frozenset[str]
) -> Refusal:
    """A number outside the workspace's allowed countries."""
    return Refusal(
        Outcome.REFUSED_REGION, display=display, e164=e164, region=region, allowed_regions=allowed
    )


_COST_REFUSALS = {
    PhoneNumberType.PREMIUM_RATE: Outcome.REFUSED_PREMIUM_RATE,
    PhoneNumberType.SHARED_COST: Outcome.REFUSED_SHARED_COST,
    # NANP 500/533/544… "follow-me" numbers forward anywhere, at the caller's expense.
    PhoneNumberType.PERSONAL_NUMBER: Outcome.REFUSED_PERSONAL_NUMBER,
}


def _type_refusal(display: str, e164: str, kind: PhoneNumberType) -> Refusal | None:
    """A premium-rate, shared-cost or personal number; None for others."""
    outcome = _COST_REFUSALS.get(kind)
    return Refusal(outcome, display=display, e164=e164) if outcome else None


def _invalid_refusal(display: str, e164: str | None, region: str | None) -> Refusal:
    """A number of plausible length that phonenumbers says does not exist."""
    return Refusal(Outcome.REFUSED_INVALID, display=display, e164=e164, region=region)


def _country_or_cost(
    number: PhoneNumber, region: str | None, display: str, allowed: frozenset[str]
) -> Refusal | None:
    """Refuse a number outside the allowed countries, then a premium-rate or shared-cost one."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if region is not None and region not in allowed:
        return _region_refusal(display, e164, region, allowed)
    return _type_refusal(display, e164, phonenumbers.number_type(number))


def _policy(number: PhoneNumber, display: str, allowed: frozenset[str]) -> Refusal | None:
    """Refuse by country first, then by cost type, then by validity; None when it may be dialed."""
    region = phonenumbers.region_code_for_number(number)
    refusal = _country_or_cost(number, region, display, allowed)
    if refusal is not None:
        return refusal
    if region is None or not phonenumbers.is_valid_number(number):
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        return _invalid_refusal(display, e164, region)
    return None


def check_destination(dest: Destination, allowed_regions: frozenset[str]) -> Refusal | None:
    """None when dest may be dialed; else why not (foreign country, premium rate, shared cost)."""
    number = _parse(dest.e164, "ZZ")
    if number is None:
        return _invalid_refusal(dest.display or dest.e164, None, None)
    allowed = frozenset(r.upper() for r in allowed_regions)
    return _policy(number, dest.display, allowed)


def _explain_unreadable(
    text: str, cleaned: str, default_region: str, allowed: frozenset[str]
) -> Refusal:
    """Refuse text that is not a valid number, as specifically as phonenumbers allows."""
    number = _parse(cleaned, default_region)
    reason = None if number is None else phonenumbers.is_possible_number_with_reason(number)
    if number is None or reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return Refusal(Outcome.REFUSED_NOT_UNDERSTOOD, typed=text)
    display = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return _policy(number, display, allowed) or _invalid_refusal(display, e164, None)


def resolve_external(
    text: str, default_region: str, allowed_regions: frozenset[str]
) -> Destination | Refusal:
    """One typed number to a dialable Destination or a Refusal: emergency, unreadable, policy."""
    cleaned = strip_slack_markup(text)
    allowed = frozenset(r.upper() for r in allowed_regions)
    emergency = _emergency_digits(cleaned, default_region, allowed)
    if emergency is not None:
        return Refusal(Outcome.REFUSED_EMERGENCY, digits=emergency)
    number = _parse(cleaned, default_region)
    if number is None or not phonenumbers.is_valid_number(number):
        return _explain_unreadable(text, cleaned, default_region, allowed)
    # What check_destination does, on the number already parsed: it is valid, so it has a
    # region, and parsing its E.164 form again would give the same number.
    dest = _destination(number)
    return _country_or_cost(number, dest.region, dest.display, allowed) or dest
