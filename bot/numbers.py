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

from bot.country_names import COUNTRY_NAMES

# Longest text read_number will look at; nothing dialable is longer, and phonenumbers' regexes
# should never be handed a whole essay from a slash command.
MAX_NUMBER_TEXT = 64

# How much of an unreadable text is echoed back to the user.
_QUOTE_LIMIT = 60

# Dialled from habit wherever people are; refused even when the default region's metadata does
# not list them (999 is not an emergency number to US metadata, but someone typing it means it).
_WELL_KNOWN_EMERGENCY = frozenset({"112", "911", "999"})

# phonenumbers' "region" for +800, +808, +870, +878, +881, +882, +883, +888, +979.
_NON_GEOGRAPHIC = "001"

# Slack's link token: <tel:+15808675309|580-867-5309> or <https://...|label> or <https://...>.
_SLACK_TOKEN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_TEL_TOKEN = re.compile(r"<tel:([^<>|]*)(?:\|[^<>]*)?>", re.IGNORECASE)
_TEL_PREFIX = re.compile(r"^tel:", re.IGNORECASE)

# Names the geocoder lacks or words awkwardly ("The Democratic Republic Of Congo").
_NAME_OVERRIDES = {
    "AC": "Ascension Island",
    "BL": "Saint Barthélemy",
    "CD": "the Democratic Republic of the Congo",
    "CG": "the Republic of the Congo",
    "EH": "Western Sahara",
    "MF": "Saint Martin",
    "MK": "North Macedonia",
    "SX": "Sint Maarten",
    "SZ": "Eswatini",
    "TA": "Tristan da Cunha",
    "VA": "Vatican City",
    "XK": "Kosovo",
    _NON_GEOGRAPHIC: "no single country",
}

# Names English always says with "the", beyond those caught by _ARTICLE_WORDS.
_ARTICLE_NAMES = frozenset(
    {"Bahamas", "Comoros", "Gambia", "Maldives", "Netherlands", "Philippines", "Seychelles"}
)
_ARTICLE_WORDS = re.compile(r"\b(Republic|Kingdom|United|Islands|Territory|States)\b|^Isle of\b")
_SMALL_WORDS = re.compile(r"(?<=\s)(And|Of|The)(?=\s)")

UNKNOWN_COUNTRY = "an unknown country"


@dataclass(frozen=True)
class Destination:
    """A dialable external number."""

    pbx_digits: str
    e164: str
    display: str
    region: str | None


@dataclass(frozen=True)
class Refusal:
    """Why a destination may not be dialed, as one user-facing sentence."""

    reason: str
    text: str


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
    """Build the Destination for a parsed number, all fields derived by phonenumbers."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return Destination(
        pbx_digits=e164.removeprefix("+"),
        e164=e164,
        display=phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        region=phonenumbers.region_code_for_number(number),
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


def emergency_extension(extension: str, default_region: str = "US") -> bool:
    """Whether digits meant as an extension are an emergency number, which must not be linked."""
    return is_emergency(extension, default_region)


def is_emergency(text: str, default_region: str, extra_regions: Iterable[str] = ()) -> bool:
    """Whether text dials an emergency service, which the bot must never call for anyone."""
    cleaned = strip_slack_markup(text)
    return _emergency_digits(cleaned, default_region, tuple(extra_regions)) is not None


# --- words --------------------------------------------------------------------------------------


def _geocoder_name(region: str) -> str:
    """The geocoder's English country name for a region, or "" when it has none."""
    return COUNTRY_NAMES.get(region, "")


def _with_article(name: str) -> str:
    """Add "the" where English uses it ("the United Kingdom", "the Bahamas", not "Canada")."""
    name = _SMALL_WORDS.sub(lambda m: m.group(1).lower(), name)
    if name.startswith("The "):
        name = name[4:]
    if name in _ARTICLE_NAMES or _ARTICLE_WORDS.search(name):
        return f"the {name}"
    return name


def country_name(region: str | None) -> str:
    """The English name of a region for a sentence, so users read "Jamaica" and not "JM"."""
    code = (region or "").strip().upper()
    if code in _NAME_OVERRIDES:
        return _NAME_OVERRIDES[code]
    if code not in phonenumbers.SUPPORTED_REGIONS:
        return UNKNOWN_COUNTRY
    name = _geocoder_name(code)
    return _with_article(name) if name else UNKNOWN_COUNTRY


def _region_order(region: str) -> tuple[int, int, str]:
    """Sort key: by calling code, the main country of a shared code first (US before CA)."""
    code = phonenumbers.country_code_for_region(region) or 10**6
    is_main = phonenumbers.region_code_for_country_code(code) == region
    return code, 0 if is_main else 1, region


def describe_regions(regions: Iterable[str]) -> str:
    """Name a set of regions as English ("the United States and Canada"), in a stable order."""
    codes = sorted({r.strip().upper() for r in regions if r and r.strip()}, key=_region_order)
    names = [country_name(code) for code in codes]
    if not names:
        return "no countries"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _quote(text: str) -> str:
    """User text made safe to echo in a reply: one line, no backticks or Slack brackets, short."""
    flat = " ".join(re.sub(r"[`<>]", "", text).split())
    return flat if len(flat) <= _QUOTE_LIMIT else flat[: _QUOTE_LIMIT - 1].rstrip() + "…"


# --- policy -------------------------------------------------------------------------------------


def _location(region: str | None) -> str:
    """Where a number is, after "is": "in Jamaica", or the wording for +800-style numbers."""
    if region == _NON_GEOGRAPHIC:
        return "an international number that belongs to no single country"
    return f"in {country_name(region)}"


def _region_refusal(display: str, region: str | None, allowed: frozenset[str]) -> Refusal:
    """The sentence for a number outside the workspace's allowed countries."""
    if allowed:
        scope = f"this workspace only allows calls to {describe_regions(allowed)}"
    else:
        scope = "this workspace doesn't allow calls to any country"
    return Refusal("region", f"{display} is {_location(region)}; {scope}.")


def _type_refusal(display: str, kind: PhoneNumberType) -> Refusal | None:
    """The sentence for a premium-rate, shared-cost or personal number; None for others."""
    if kind == PhoneNumberType.PREMIUM_RATE:
        return Refusal(
            "premium_rate",
            f"{display} is a premium-rate number; premium-rate numbers can't be dialed from Slack.",
        )
    if kind == PhoneNumberType.SHARED_COST:
        return Refusal(
            "shared_cost",
            f"{display} is a shared-cost number; shared-cost numbers can't be dialed from Slack.",
        )
    if kind == PhoneNumberType.PERSONAL_NUMBER:
        # NANP 500/533/544… "follow-me" numbers forward anywhere, at the caller's expense.
        return Refusal(
            "personal_number",
            f"{display} is a personal forwarding number, which can be billed like a call "
            "abroad; those can't be dialed from Slack.",
        )
    return None


def _invalid_refusal(display: str, region: str | None) -> Refusal:
    """The sentence for a number of plausible length that phonenumbers says does not exist."""
    where = f" in {country_name(region)}" if region and region != _NON_GEOGRAPHIC else ""
    return Refusal(
        "invalid", f"{display} isn't a valid phone number{where}; check the digits and try again."
    )


def _country_or_cost(
    number: PhoneNumber, region: str | None, display: str, allowed: frozenset[str]
) -> Refusal | None:
    """Refuse a number outside the allowed countries, then a premium-rate or shared-cost one."""
    if region is not None and region not in allowed:
        return _region_refusal(display, region, allowed)
    return _type_refusal(display, phonenumbers.number_type(number))


def _policy(number: PhoneNumber, display: str, allowed: frozenset[str]) -> Refusal | None:
    """Refuse by country first, then by cost type, then by validity; None when it may be dialed."""
    region = phonenumbers.region_code_for_number(number)
    refusal = _country_or_cost(number, region, display, allowed)
    if refusal is not None:
        return refusal
    if region is None or not phonenumbers.is_valid_number(number):
        return _invalid_refusal(display, region)
    return None


def check_destination(dest: Destination, allowed_regions: frozenset[str]) -> Refusal | None:
    """None when dest may be dialed; else why not (foreign country, premium rate, shared cost)."""
    number = _parse(dest.e164, "ZZ")
    if number is None:
        return _invalid_refusal(dest.display or dest.e164, None)
    allowed = frozenset(r.upper() for r in allowed_regions)
    return _policy(number, dest.display, allowed)


def _emergency_refusal(digits: str) -> Refusal:
    """The sentence sending someone who typed an emergency number to a real phone."""
    number = digits if 0 < len(digits) <= 6 else "your local emergency number"
    return Refusal(
        "emergency",
        "I can't place emergency calls: a call from the bot would reach the dispatcher from the "
        f"wrong place. Dial {number} from a phone directly so the dispatcher sees where you are.",
    )


def _not_understood(text: str) -> Refusal:
    """The sentence for text that holds no phone number, quoting it back safely."""
    return Refusal(
        "not_understood",
        f"I couldn't read “{_quote(text)}” as a phone number. "
        "Try something like `/dial 580-867-5309` or `/dial +1 604 555 0143`.",
    )


def _explain_unreadable(
    text: str, cleaned: str, default_region: str, allowed: frozenset[str]
) -> Refusal:
    """Refuse text that is not a valid number, as specifically as phonenumbers allows."""
    number = _parse(cleaned, default_region)
    reason = None if number is None else phonenumbers.is_possible_number_with_reason(number)
    if number is None or reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return _not_understood(text)
    display = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    return _policy(number, display, allowed) or _invalid_refusal(display, None)


def resolve_external(
    text: str, default_region: str, allowed_regions: frozenset[str]
) -> Destination | Refusal:
    """One typed number to a dialable Destination or a Refusal: emergency, unreadable, policy."""
    cleaned = strip_slack_markup(text)
    allowed = frozenset(r.upper() for r in allowed_regions)
    emergency = _emergency_digits(cleaned, default_region, allowed)
    if emergency is not None:
        return _emergency_refusal(emergency)
    number = _parse(cleaned, default_region)
    if number is None or not phonenumbers.is_valid_number(number):
        return _explain_unreadable(text, cleaned, default_region, allowed)
    # What check_destination does, on the number already parsed: it is valid, so it has a
    # region, and parsing its E.164 form again would give the same number.
    dest = _destination(number)
    return _country_or_cost(number, dest.region, dest.display, allowed) or dest
