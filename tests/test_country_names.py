"""The shipped country-name table matches phonenumbers' geocoder."""

from __future__ import annotations

import phonenumbers
from phonenumbers import geocoder

from bot.slack.text.countries import COUNTRY_NAMES


def test_table_matches_the_geocoder_for_every_region() -> None:
    expected = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, "en") if example is not None else ""
        if name:
            expected[region] = name
    assert expected == COUNTRY_NAMES
