"""Links that keep themselves: each person's extension from the company directory.

A protected custom profile field (DIALER_EXTENSION_FIELD) links an unlinked person the first
time they dial; Slack's user_change keeps the link in step; conflicts link nobody and reach the
admins; an editable field stops start-up. Against the fake Slack's team.profile.get,
users.profile.get and user_change, as Slack documents them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack, dm_channel
from tests.inproc.conftest import MakeWorld
from tests.inproc.harness import World, start_up
from tests.waiting import wait_until
from tests.workspace import ADMIN, BOT_TOKEN, PBX_KEY, SIGNING_SECRET

FIELD = "Xf0EXT0001"
LABEL = "Phone extension"
NEWBIE = "UNOLINK01"


@pytest.fixture
def directory(slack: FakeSlack) -> FakeSlack:
    """The fake Slack with a protected "Phone extension" field and another, editable one."""
    slack.add_profile_field("Xf0PRONOUN", "Pronouns")
    slack.add_profile_field(FIELD, LABEL, protected=True)
    return slack


def start(make_world: MakeWorld, *, linked: bool = True, mode: str = "http") -> World:
    """The bot linking from the directory's "Phone extension" field."""
    return make_world(mode, linked=linked, DIALER_EXTENSION_FIELD=LABEL)


MODES = pytest.mark.parametrize("mode", ["http", "socket"])


def admin_dms(slack: FakeSlack) -> list[str]:
    """What the bot told the admin in DMs."""
    return [
        str(call.params.get("text"))
        for call in slack.calls_to("chat.postMessage")
        if call.params.get("channel") == dm_channel(ADMIN)
    ]


def user_change(user_id: str, *, fields: dict | None, deleted: bool = False) -> dict:
    """A user_change event as Slack sends it (the profile's `fields` often left empty)."""
    return {
        "type": "user_change",
        "user": {
            "id": user_id,
            "team_id": "T0123ABCD",
            "name": user_id.lower(),
            "deleted": deleted,
            "is_bot": False,
            "profile": {"real_name": user_id.title(), "fields": fields},
        },
        "cache_ts": 1700000000,
        "event_ts": "1700000000.000100",
    }


def link_of(world: World, user: str) -> tuple | None:
    """(extension, source, linked_by) of a person's link, read from the database."""
    rows = world.rows("SELECT extension, source, linked_by FROM links WHERE user_id = ?", user)
    return rows[0] if rows else None


@MODES
def test_first_dial_links_from_the_directory_and_places_the_call(
    directory: FakeSlack, make_world: MakeWorld, mode: str
) -> None:
    directory.set_profile_value(NEWBIE, FIELD, " 309 ")
    world = start(make_world, linked=False, mode=mode)
    status, ack, response_url = world.dial("580-867-5309", user=NEWBIE)
    assert status == 200
    assert "from extension 309" in ack["text"], ack
    assert "ringing" in world.final_reply(response_url)
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]
    assert link_of(world, NEWBIE) == ("309", "directory", "directory")
    assert world.rows("SELECT user_id, action, extension, source FROM link_events") == [
        (NEWBIE, "linked", "309", "directory")
    ]
    _, listed, _ = world.link("list")
    assert f"extension 309: <@{NEWBIE}> (from the directory)" in listed["text"]
    # A second dial reads the link, not Slack: the profile was read once.
    world.advance(30)
    world.dial("+1 604 555 0143", user=NEWBIE)
    world.idle()
    assert len(directory.calls_to("users.profile.get")) == 1


def test_an_emergency_number_in_the_directory_links_nobody_and_tells_the_admins(
    directory: FakeSlack, make_world: MakeWorld
) -> None:
    directory.set_profile_value(NEWBIE, FIELD, "911")
    world = start(make_world)
    status, ack, _ = world.dial("580-867-5309", user=NEWBIE)
    assert status == 200
    assert "company directory says your extension is 911" in ack["text"], ack
    assert "let the admins know" in ack["text"]
    world.idle()
    assert world.pbx.requests == 0
    assert link_of(world, NEWBIE) is None
    assert world.outcomes(NEWBIE) == ["refused_directory_conflict"]
    [alert] = wait_until(lambda: admin_dms(directory), what="the admins told")
    assert f"<@{NEWBIE}>" in alert and "911" in alert and "emergency" in alert
    # The same conflict again is not a second DM, and Home counts it.
    world.dial("580-867-5309", user=NEWBIE)
    world.idle()
    assert len(admin_dms(directory)) == 1
    home = str(world.open_home(ADMIN))
    assert "1 conflict" in home


def test_an_extension_someone_else_has_links_nobody_and_says_who(
    directory: FakeSlack, make_world: MakeWorld
) -> None:
    directory.set_profile_value(NEWBIE, FIELD, "309")  # UALICE001's, linked by an admin
    world = start(make_world)
    _, ack, _ = world.dial("580-867-5309", user=NEWBIE)
    assert "already linked to <@UALICE001>" in ack["text"], ack
    world.idle()
    assert world.pbx.requests == 0
    assert link_of(world, NEWBIE) is None
    assert link_of(world, "UALICE001") == ("309", "hand", ADMIN)
    [alert] = wait_until(lambda: admin_dms(directory), what="the admins told")
    assert "<@UALICE001>" in alert
    assert world.rows("SELECT user_id, kind, value, holder FROM directory_conflicts") == [
        (NEWBIE, "taken", "309", "UALICE001")
    ]


@MODES
def test_a_new_value_moves_the_link_and_deactivation_removes_it(
    directory: FakeSlack, make_world: MakeWorld, mode: str
) -> None:
    directory.set_profile_value(NEWBIE, FIELD, "309")
    world = start(make_world, linked=False, mode=mode)
    world.dial("580-867-5309", user=NEWBIE)
    world.idle()
    assert link_of(world, NEWBIE) == ("309", "directory", "directory")
    # The event carries the new value.
    assert world.event(user_change(NEWBIE, fields={FIELD: {"value": "312", "alt": ""}})) == 200
    wait_until(lambda: link_of(world, NEWBIE) == ("312", "directory", "directory"))
    # The event leaves custom fields out (Slack often does): the profile is read afresh.
    directory.set_profile_value(NEWBIE, FIELD, "314")
    assert world.event(user_change(NEWBIE, fields={})) == 200
    wait_until(lambda: link_of(world, NEWBIE) == ("314", "directory", "directory"))
    # Deactivated: the link goes, and the audit log says so.
    assert world.event(user_change(NEWBIE, fields=None, deleted=True)) == 200
    wait_until(lambda: link_of(world, NEWBIE) is None, what="the link removed")
    assert world.rows(
        "SELECT action, extension, previous FROM link_events WHERE user_id = ? ORDER BY id",
        NEWBIE,
    ) == [
        ("linked", "309", None),
        ("changed", "312", "309"),
        ("changed", "314", "312"),
        ("removed", None, "314"),
    ]


def test_a_link_made_by_hand_is_never_overwritten(
    directory: FakeSlack, make_world: MakeWorld
) -> None:
    world = start(make_world)  # UALICE001 linked to 309 by an admin
    assert world.event(user_change("UALICE001", fields={FIELD: {"value": "320", "alt": ""}})) == 200
    [alert] = wait_until(lambda: admin_dms(directory), what="the admins told")
    assert "by hand" in alert and "320" in alert
    world.idle()
    assert link_of(world, "UALICE001") == ("309", "hand", ADMIN)
    assert world.rows("SELECT kind, value, extension FROM directory_conflicts") == [
        ("hand", "320", "309")
    ]
    assert world.rows("SELECT count(*) FROM link_events") == [(0,)]


def test_without_the_setting_nothing_reads_the_directory(
    directory: FakeSlack, make_world: MakeWorld
) -> None:
    directory.set_profile_value(NEWBIE, FIELD, "309")
    world = make_world(linked=False)
    _, ack, _ = world.dial("580-867-5309", user=NEWBIE)
    assert "don't have a phone extension linked" in ack["text"]
    world.event(user_change(NEWBIE, fields={FIELD: {"value": "309", "alt": ""}}))
    world.idle()
    assert not directory.calls_to("team.profile.get")
    assert not directory.calls_to("users.profile.get")
    assert link_of(world, NEWBIE) is None


@pytest.mark.parametrize("protection", [{"protected": True}, {"scim": True}])
def test_a_protected_or_scim_field_lets_start_up_go_on(
    slack: FakeSlack, make_world: MakeWorld, protection: dict
) -> None:
    slack.add_profile_field("Xf0SAFE001", "Desk extension", **protection)
    world = make_world(DIALER_EXTENSION_FIELD="Xf0SAFE001")
    world.wait_logged("linking people from the directory's 'Desk extension' field")


def test_an_editable_field_stops_start_up_in_one_line(
    slack: FakeSlack, tmp_path: Path, monkeypatch, capsys
) -> None:
    slack.add_profile_field(FIELD, LABEL)  # anyone can edit it
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "WEBFONES_API_KEY": PBX_KEY,
        "DIALER_DB": str(tmp_path / "dialer.db"),
        "DIALER_EXTENSION_FIELD": "phone EXTENSION",
    }
    code, err = start_up(env, monkeypatch, capsys)
    assert code == 2, err
    # The log says it reached Slack; then the one line that stops start-up.
    [line] = [line for line in err.splitlines() if line.startswith("webfones-dialer:")]
    assert err.strip().endswith(line)
    assert line.startswith("webfones-dialer: DIALER_EXTENSION_FIELD names the profile field")
    assert "'Phone extension'" in line and "edit" in line and "colleague" in line
