"""The company directory's pieces: the one decision, finding the field, and `check`'s line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import sync
from bot.domain.directory import DIRECTORY, HAND, Current, Verdict, decide
from bot.domain.extensions import linkable_problem
from bot.slack.profiles import FieldProblem, FieldTrouble, ProfileField, field_value, pick_field
from bot.store import Store
from tests.cliproc import InProcess
from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack

BOT_TOKEN = "xoxb-S3KRIT-directory-41c0"
PBX_KEY = "pbx-S3KRIT-directory-9d2e"


def rule(value: str):
    return linkable_problem(value, "US")


def verdict(value: str, current: Current | None = None, holders=(), active: bool = True):
    return decide("U1", value, active=active, current=current, holders=holders, rule=rule).verdict


@pytest.mark.parametrize(
    ("value", "current", "holders", "active", "expected"),
    [
        ("309", None, (), True, Verdict.LINK),
        (" 309 ", None, (), True, Verdict.LINK),
        ("312", Current("309", DIRECTORY), (), True, Verdict.CHANGE),
        ("309", Current("309", DIRECTORY), ("U1",), True, Verdict.KEEP),
        ("309", Current("309", HAND), ("U1",), True, Verdict.KEEP),
        ("", Current("309", DIRECTORY), (), True, Verdict.REMOVE),
        ("", Current("309", HAND), (), True, Verdict.NOTHING),
        ("", None, (), True, Verdict.NOTHING),
        ("309", Current("309", HAND), (), False, Verdict.REMOVE),
        ("309", None, (), False, Verdict.NOTHING),
        ("911", None, (), True, Verdict.REFUSED),
        ("x309", None, (), True, Verdict.REFUSED),
        ("309", None, ("U2",), True, Verdict.TAKEN),
        ("312", Current("309", HAND), (), True, Verdict.HAND),
    ],
)
def test_the_one_decision(value, current, holders, active, expected) -> None:
    assert verdict(value, current, holders, active) == expected


def test_conflicts_change_nothing_and_changes_are_not_conflicts() -> None:
    for each in Verdict:
        assert not (each.changes and each.conflict)
    assert {v for v in Verdict if v.conflict} == {Verdict.REFUSED, Verdict.TAKEN, Verdict.HAND}


FIELDS = [
    {"id": "Xf01", "label": "Phone extension", "options": None},
    {"id": "Xf02", "label": "Desk", "options": {"is_protected": 1}},
    {"id": "Xf03", "label": "Badge", "options": {"is_scim": True}},
    {"id": "Xf04", "label": "Twin", "options": {"is_protected": True}},
    {"id": "Xf05", "label": "twin", "options": {"is_protected": True}},
]


def test_the_field_is_found_by_id_or_label_and_trusted_only_when_locked() -> None:
    assert pick_field(FIELDS, "desk") == ProfileField("Xf02", "Desk", True, False)
    assert pick_field(FIELDS, "Xf03") == ProfileField("Xf03", "Badge", False, True)
    assert pick_field(FIELDS, "Xf04").id == "Xf04"  # an id settles a shared label
    editable = pick_field(FIELDS, "PHONE EXTENSION")
    assert isinstance(editable, FieldProblem) and editable.trouble == FieldTrouble.EDITABLE
    assert "DIALER_EXTENSION_FIELD" in editable.line() and "edit" in editable.line()
    twins = pick_field(FIELDS, "Twin")
    assert isinstance(twins, FieldProblem) and twins.trouble == FieldTrouble.AMBIGUOUS
    assert "Xf04, Xf05" in twins.line()
    missing = pick_field(FIELDS, "Extension")
    assert isinstance(missing, FieldProblem) and "'Desk'" in missing.line()


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"fields": {"Xf02": {"value": " 309 ", "alt": ""}}}, "309"),
        ({"fields": {"Xf02": {"value": "", "alt": ""}}}, ""),
        ({"fields": {"Xf09": {"value": "1", "alt": ""}}}, None),
        ({"fields": {}}, None),
        ({"fields": []}, None),
        ({"fields": None}, None),
        ({}, None),
        (None, None),
    ],
)
def test_a_value_is_read_from_every_shape_slack_sends(profile, expected) -> None:
    assert field_value(profile, "Xf02") == expected


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def env(tmp_path: Path, slack: FakeSlack) -> Iterator[dict[str, str]]:
    with FakePbx(api_key=PBX_KEY) as pbx:
        yield {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "5ec2e75ec2e75ec2e75ec2e75ec2e7aa",
            "SLACK_API_URL": slack.api_url,
            "WEBFONES_API_KEY": PBX_KEY,
            "WEBFONES_BASE_URL": pbx.url,
            "DIALER_DB": str(tmp_path / "dialer.db"),
            "DIALER_EXTENSION_FIELD": "Phone extension",
        }


def field_line(out: str) -> str:
    [line] = [line for line in out.splitlines() if "DIALER_EXTENSION_FIELD:" in line]
    return line


def test_check_trusts_a_scim_field_and_counts_the_people_with_a_value(
    env, slack: FakeSlack, monkeypatch, capsys
) -> None:
    cli = InProcess(monkeypatch, capsys)
    slack.add_profile_field("Xf0EXT", "Phone extension", scim=True)
    first = cli(["check"], env)
    assert first.code == 0, first.out
    assert field_line(first.out).startswith(
        "ok   DIALER_EXTENSION_FIELD: 'Phone extension' (Xf0EXT) is synced from the identity "
        "provider (SCIM): people can't edit it"
    )
    slack.add_user("UALICE001")
    slack.add_user("UBOB00001")
    slack.set_profile_value("UALICE001", "Xf0EXT", "309")
    monkeypatch.setattr(sync, "PROFILE_INTERVAL", 0.0)
    monkeypatch.setattr(sync, "PAGE_INTERVAL", 0.0)
    assert cli(["links", "sync", "--apply"], env).code == 0
    second = cli(["check"], env)
    assert "1 of 2 active members had a value at the last links sync" in field_line(second.out)
    assert "1 linked from it, 0 conflict(s) open" in field_line(second.out)


def test_check_fails_an_editable_field(env, slack: FakeSlack, monkeypatch, capsys) -> None:
    cli = InProcess(monkeypatch, capsys)
    slack.add_profile_field("Xf0EXT", "Phone extension")
    ran = cli(["check"], env)
    assert ran.code == 1
    assert field_line(ran.out).startswith(
        "FAIL DIALER_EXTENSION_FIELD: DIALER_EXTENSION_FIELD names the profile field"
    )


def test_a_hand_link_keeps_its_source_through_a_directory_step(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "d.db"))
    try:
        store.links.set("U1", "309", "UADMIN001")
        store.directory.follow("U2", "310", active=True, rule=rule)
        assert store.links.get("U1").source == HAND
        assert store.links.get("U2").source == DIRECTORY
        store.links.set("U2", "311", "UADMIN001")  # an admin takes over: by hand from now on
        assert store.links.get("U2").source == HAND
        followed = store.directory.follow("U2", "310", active=True, rule=rule)
        assert followed.decision.verdict == Verdict.HAND and followed.new_conflict
        assert store.links.get("U2").extension == "311"
    finally:
        store.close()
