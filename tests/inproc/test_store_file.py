"""DIALER_DB deleted or replaced under the running bot: calls are refused, one line is logged."""

from __future__ import annotations

import os
import shutil

import pytest

from bot.domain.facts import Facts
from bot.slack.text import callers
from tests.inproc.harness import World
from tests.test_store import read_only_connections

CALLS_NOT_RECORDED = callers.store_failed(Facts())


def test_deleting_the_database_refuses_the_next_dials_and_logs_one_line(world: World) -> None:
    status, ack, response_url = world.dial("580-867-5309")
    assert status == 200 and "Calling" in ack["text"], ack
    assert "ringing" in world.final_reply(response_url)
    os.remove(world.db_path)
    status, ack, _ = world.dial("405-555-0143")
    assert status == 200 and ack["text"] == CALLS_NOT_RECORDED, ack
    world.idle()
    logged = world.log
    assert logged.count("deleted or moved") == 1, logged  # the dial's one line
    assert (
        f"ERROR bot.services.dialing: call for UALICE001 not placed: DIALER_DB {world.db_path} "
        "was deleted or moved while the bot was running; nothing more is written to it: "
        "restart the bot once the right file is in place"
    ) in logged
    for user in ("UBOB00001", "UALICE001", "UCAROL001"):
        status, ack, _ = world.dial("405-555-0143", user=user)
        assert status == 200 and ack["text"] == CALLS_NOT_RECORDED, ack
    world.idle()
    assert world.log == logged, "a refused dial logged again"
    assert len(world.pbx.calls) == 1
    assert not os.path.exists(world.db_path), "an empty database was created in its place"


def test_a_file_copied_over_the_database_is_never_written(world: World) -> None:
    """A backup restored under the running bot: its writes would vanish, so it refuses them."""
    backup = world.db_path + ".bak"
    shutil.copyfile(world.db_path, backup)
    os.replace(backup, world.db_path)
    status, ack, _ = world.dial("580-867-5309")
    assert status == 200 and ack["text"] == CALLS_NOT_RECORDED, ack
    world.idle()
    assert world.pbx.calls == []
    assert "was replaced by another file while the bot was running" in world.log


def test_a_link_confirmed_before_the_disk_turns_read_only_is_there_after_a_restart(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the admin was told is on disk: a restart on the now read-only file still has it."""
    _, ack, _ = world.link("<@UNOLINK01> 412")
    assert ack["text"] == "Linked <@UNOLINK01> to extension 412."
    read_only_connections(monkeypatch)  # the disk turns read-only under the bot
    world.restart()
    _, ack, _ = world.link("", user="UNOLINK01")
    assert "412" in ack["text"], ack
    assert world.rows("SELECT extension FROM links WHERE user_id = 'UNOLINK01'") == [("412",)]
    status, ack, _ = world.dial("580-867-5309", user="UNOLINK01")
    assert status == 200 and ack["text"] == CALLS_NOT_RECORDED, ack  # nothing unrecorded is dialed
