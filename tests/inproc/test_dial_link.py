"""/dial-link in-process: the admin gate, link changes, email links and emergency extensions."""

from __future__ import annotations

import time

from tests.inproc.harness import World
from tests.workspace import ADMIN


def test_anyone_sees_their_own_extension(world: World) -> None:
    _, ack, _ = world.link("", user="UALICE001")
    assert ack["text"].startswith("Your extension is 309")
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]


def test_help_shows_usage(world: World) -> None:
    _, ack, _ = world.link("help", user="UALICE001")
    assert "/dial-link @user 309" in ack["text"]


def test_non_admin_cannot_change_links_and_is_told_who_can(world: World) -> None:
    _, ack, _ = world.link("<@UBOB00001> 999", user="UALICE001")
    assert f"<@{ADMIN}>" in ack["text"] and "Only" in ack["text"]
    _, ack, _ = world.link("", user="UBOB00001")
    assert "310" in ack["text"]
    _, ack, _ = world.link("list", user="UALICE001")
    assert "Only" in ack["text"]


def test_workspace_owner_counts_as_admin(any_world: World) -> None:
    _, ack, _ = any_world.link("<@UNOLINK01|nolink> 412", user="UOWNER001")
    assert ack["text"] == "Linked <@UNOLINK01> to extension 412."
    assert any_world.rows("SELECT extension, linked_by FROM links WHERE user_id = 'UNOLINK01'") == [
        ("412", "UOWNER001")
    ]


def test_linking_through_the_command_lets_the_user_dial(any_world: World) -> None:
    _, ack, _ = any_world.link("<@UNOLINK01> 412")
    assert ack["text"] == "Linked <@UNOLINK01> to extension 412."
    _, ack, response_url = any_world.dial("580-867-5309", user="UNOLINK01")
    assert "from extension 412" in ack["text"]
    assert "ringing" in any_world.final_reply(response_url)


def test_change_remove_and_list(world: World) -> None:
    _, ack, _ = world.link("<@UALICE001> 319")
    assert ack["text"] == "Changed <@UALICE001> from extension 309 to 319."
    _, ack, _ = world.link("list")
    assert "extension 319: <@UALICE001>" in ack["text"]
    _, ack, _ = world.link("<@UALICE001> remove")
    assert "Removed <@UALICE001>'s link to extension 319" in ack["text"]
    _, ack, _ = world.dial("580-867-5309", user="UALICE001")
    assert "don't have a phone extension linked" in ack["text"]


def test_bad_input_gets_a_specific_answer(world: World) -> None:
    _, ack, _ = world.link("<@UBOB00001> 3")
    assert "isn't an extension" in ack["text"] and "2 to 8 digits" in ack["text"]
    _, ack, _ = world.link("bob 310")
    assert "I didn't understand “bob 310”" in ack["text"]


def test_links_survive_a_restart_on_the_same_database(world: World) -> None:
    world.restart()
    _, ack, response_url = world.dial("580-867-5309", user="UCAROL001")
    assert "from extension 311" in ack["text"]
    assert "ringing" in world.final_reply(response_url)


def test_emergency_numbers_cannot_be_linked_as_extensions(world: World) -> None:
    _, ack, _ = world.link("<@UNOLINK01> 911")
    assert "911 is an emergency number" in ack["text"]
    _, ack, _ = world.link("<@UNOLINK01> ９１１")
    assert "isn't an extension" in ack["text"]
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]


def test_a_colleague_linked_to_an_emergency_number_is_not_dialed(world: World) -> None:
    world.seed_links({"UBOB00001": "911"})
    _, ack, _ = world.dial("<@UBOB00001>")
    assert "emergency" in ack["text"]
    world.idle()
    assert world.pbx.requests == 0


def test_a_slow_slack_denies_admin_rights_within_the_ack_deadline(world: World) -> None:
    world.slack.response_delay = 4.0
    started = time.monotonic()
    status, ack, _ = world.link("<@UNOLINK01|nolink> 412", user="UOWNER001")
    acked_in = time.monotonic() - started
    world.slack.response_delay = 0.0
    assert status == 200 and "couldn't reach Slack to check that you're an admin" in ack["text"]
    assert acked_in < 3.0, f"acked after {acked_in:.1f}s, past Slack's deadline"
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]


def test_link_by_email(any_world: World) -> None:
    world = any_world
    world.slack.add_user("UDAVE0001", name="dave", email="dave@example.com")
    _, ack, _ = world.link("<mailto:dave@example.com|dave@example.com> 420")
    assert ack["text"] == "Linked <@UDAVE0001> to extension 420."
    _, ack, _ = world.link("nobody@example.com 421")
    assert ack["text"] == "No one in this workspace has the email address nobody@example.com."
    world.slack.add_user("UGONE0001", name="gone", email="gone@example.com", deleted=True)
    _, ack, _ = world.link("gone@example.com 422")
    assert "deactivated account or a bot" in ack["text"]
    _, ack, _ = world.link("dave@example.com remove")
    assert "Removed <@UDAVE0001>'s link to extension 420" in ack["text"]


def test_a_list_of_1500_links_comes_a_page_at_a_time_within_slack_s_limit(world: World) -> None:
    world.seed_links({f"U{i:08d}X": str(10000 + i) for i in range(1500)})
    _, ack, _ = world.link("list")
    pages = int(ack["text"].split(" of ", 1)[1].split(",", 1)[0])
    seen = 0
    for page in range(1, pages + 1):
        _, ack, _ = world.link(f"list {page}")
        assert len(ack["text"]) <= 4000, page
        seen += ack["text"].count("• extension ")
    assert seen == len(world.rows("SELECT 1 FROM links"))  # the seeded 1,500 and the usual users
    assert "python -m bot links export" in ack["text"]
