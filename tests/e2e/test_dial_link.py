"""/dial-link end to end: linking over real sockets, links surviving a restart, a slow Slack.

What /dial-link answers (the admin gate, bad input, email links, emergency extensions) is
tested in-process: tests/inproc/test_dial_link.py.
"""

from __future__ import annotations

from tests.e2e.conftest import World


def test_change_remove_and_list_then_links_survive_a_restart(world: World) -> None:
    _, ack, _ = world.link("<@UALICE001> 319")
    assert ack["text"] == "Changed <@UALICE001> from extension 309 to 319."
    _, ack, _ = world.link("<@UNOLINK01> 412")
    assert ack["text"] == "Linked <@UNOLINK01> to extension 412."
    _, ack, _ = world.link("list")
    assert "extension 319: <@UALICE001>" in ack["text"]
    _, ack, _ = world.link("<@UALICE001> remove")
    assert "Removed <@UALICE001>'s link to extension 319" in ack["text"]
    _, ack, _ = world.dial("580-867-5309", user="UALICE001")
    assert "don't have a phone extension linked" in ack["text"]

    world.stop()
    world.start()
    _, ack, response_url = world.dial("580-867-5309", user="UCAROL001")
    assert "from extension 311" in ack["text"]
    assert "ringing" in world.final_reply(response_url)
    _, ack, _ = world.link("", user="UNOLINK01")
    assert ack["text"].startswith("Your extension is 412")
    _, ack, _ = world.link("", user="UALICE001")
    assert "don't have an extension" in ack["text"]


def test_a_slow_slack_denies_admin_rights_within_the_ack_deadline(world: World) -> None:
    world.link("", user="UALICE001")  # Bolt asks auth.test on its first request: not slowed here
    world.slack.response_delay = 4.0
    status, ack, _ = world.link("<@UNOLINK01|nolink> 412", user="UOWNER001")
    world.slack.response_delay = 0.0
    assert status == 200 and "Only" in ack["text"]
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "don't have an extension" in ack["text"]
