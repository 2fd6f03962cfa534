"""A read-only, full or failing database: a sentence for users, a line for the operator.

The finding: such a database answered /dial with "The call log is busy right now" (not what
happened) and /dial-link with HTTP 500 and a traceback. Now every surface says the dialer
can't record calls (or links) right now, nothing is dialed that could not be recorded, the log
names what happened to DIALER_DB, and once the disk recovers the next request just works.

The disk is a small tmpfs where the machine allows mounting one (root); otherwise a read-only
file is made with chmod and a failing one with a file-size limit on the bot process.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.facts import Facts
from bot.slack.text import admins as admin_text
from bot.slack.text import callers
from tests.e2e.conftest import ADMIN, SIGNING_SECRET, World
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import (
    app_home_opened_event,
    event_callback_body,
    home_button_payload,
    interactive_body,
    post_signed,
    view_submission_payload,
)
from tests.fakes.slack import FakeSlack
from tests.waiting import wait_until

CALLS_NOT_RECORDED = callers.store_failed(Facts())
LINK_NOT_SAVED = admin_text.link_not_saved()


class Disk:
    """A small tmpfs for DIALER_DB (as root), which the test can fill or make read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def mount(self) -> bool:
        """Mount it; answer False where this machine does not let us."""
        self.path.mkdir(exist_ok=True)
        if os.geteuid() != 0:
            return False
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(self.path)],
            capture_output=True,
        )
        return done.returncode == 0

    def unmount(self) -> None:
        """Unmount (lazily, should anything still hold it open)."""
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)

    def remount(self, mode: str) -> None:
        """Remount read-only ("ro") or writable ("rw")."""
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    def fill(self) -> None:
        """Take every free byte, as a log file gone wild would."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)
        for size in (4096, 512, 1):  # the last scraps
            try:
                with open(self.filler, "ab", buffering=0) as f:
                    while True:
                        f.write(b"\0" * size)
            except OSError:
                pass

    def free(self) -> None:
        """Give the space back."""
        self.filler.unlink()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk | None]:
    """A mounted tmpfs, or None where mounting is not allowed."""
    setup = Disk(tmp_path / "disk")
    mounted = setup.mount()
    try:
        yield setup if mounted else None
    finally:
        if mounted:
            setup.unmount()


def world_on(tmp_path: Path, pbx: FakePbx, slack: FakeSlack, db_dir: Path) -> World:
    """A running bot whose DIALER_DB is in db_dir, with the standard users linked."""
    world = World(tmp_path, pbx, slack)
    world.db_path = str(db_dir / "dialer.db")
    world.start()
    world.link_everyone()
    return world


def interact(world: World, payload: dict[str, Any]) -> tuple[int, dict]:
    """Post a signed interactivity payload; answer (status, JSON ack or {})."""
    status, text, _ = post_signed(world.url, interactive_body(payload), SIGNING_SECRET)
    return status, json.loads(text) if text.strip().startswith("{") else {}


def field(block: str, action: str, value: str) -> dict[str, dict[str, dict[str, str]]]:
    """A modal's state.values with one text field."""
    return {block: {action: {"type": "plain_text_input", "value": value}}}


def assert_every_surface_explains(world: World) -> None:
    """Each way in answers with a sentence (never a 500) and nothing is dialed."""
    status, ack, _ = world.dial("580-867-5309")
    assert status == 200 and ack["text"] == CALLS_NOT_RECORDED, ack
    status, response_url = world.shortcut("call me at 405-555-0143", user="UBOB00001")
    assert status == 200 and world.final_reply(response_url) == CALLS_NOT_RECORDED
    dial_modal = view_submission_payload(
        user_id="UCAROL001",
        callback_id="dial_modal",
        values=field("number", "number_input", "604-555-0143"),
    )
    status, ack = interact(world, dial_modal)
    assert status == 200 and ack["errors"] == {"number": CALLS_NOT_RECORDED}, ack

    status, ack, _ = world.link("<@UNEW00001> 412")
    assert status == 200 and ack["text"] == LINK_NOT_SAVED, ack
    link_modal = view_submission_payload(
        user_id=ADMIN,
        callback_id="link_user_modal",
        values=field("extension", "extension_input", "413"),
        private_metadata="UNOLINK01",
    )
    status, ack = interact(world, link_modal)
    assert status == 200 and ack["errors"] == {"extension": LINK_NOT_SAVED}, ack
    status, ack, _ = world.link("", user="UALICE001")  # reading still works
    assert status == 200 and ack["text"].startswith("Your extension is 309"), ack

    published = len(world.slack.calls_to("views.publish"))
    status, _, _ = post_signed(
        world.url,
        event_callback_body(app_home_opened_event("UNOLINK01")),
        SIGNING_SECRET,
        content_type="application/json",
    )
    assert status == 200
    world.slack.wait_for_calls("views.publish", count=published + 1)
    status, _ = interact(world, home_button_payload(user_id="UNOLINK01", action_id="request_link"))
    assert status == 200
    home = world.slack.wait_for_calls("views.publish", count=published + 2)[-1].params
    assert "I've asked" in json.dumps(home["view"])

    assert world.pbx.requests == 0, "something was dialed that could not be recorded"
    assert world.bot is not None
    log = world.bot.log
    assert "Traceback" not in log, log
    # One line for the three refused calls: the trouble, not each refusal.
    assert log.count("not placed: ") == 1, log


def health(world: World) -> int:
    """The status GET /healthz answers now."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{world.port}/healthz", timeout=2) as got:
            return got.status
    except urllib.error.HTTPError as error:
        return error.code


def assert_recovered(world: World) -> None:
    """The disk is back: the next /dial and /dial-link work, without a restart."""
    status, ack, response_url = world.dial("580-867-5309")
    assert status == 200 and "Calling" in ack["text"], ack
    assert "ringing" in world.final_reply(response_url)
    status, ack, _ = world.link("<@UNEW00001> 412")
    assert ack["text"] == "Linked <@UNEW00001> to extension 412.", ack
    assert [(c.extension, c.phonenumber) for c in world.pbx.calls] == [("309", "15808675309")]
    assert world.bot is not None and world.bot.proc is not None
    assert world.bot.proc.poll() is None
    assert "Traceback" not in world.bot.log


def test_a_read_only_database(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack, disk: Disk | None
) -> None:
    """The bot starts on a read-only DIALER_DB, says so, serves what it can, then recovers.

    (A disk the kernel remounts read-only leaves a running bot in the same state: its
    connections can only read. The bot is killed first so SQLite's -wal and -shm files stay,
    as they do for a running bot, and a read-only copy of the database can be opened.)
    """
    if disk is None and os.geteuid() == 0:
        pytest.skip("needs `mount -t tmpfs` (root ignores file permissions)")
    db_dir = disk.path if disk is not None else tmp_path
    world = world_on(tmp_path, pbx, slack, db_dir)
    files = [Path(world.db_path + suffix) for suffix in ("", "-wal", "-shm")]
    try:
        assert world.bot is not None
        world.bot.kill()
        if disk is not None:
            disk.remount("ro")
        else:
            for file in files:
                file.chmod(0o444)
        world.start()
        assert world.bot.proc is not None and world.bot.proc.poll() is None
        assert "DIALER_DB is read-only (attempt to write a readonly database)" in world.bot.log
        assert health(world) == 503
        assert_every_surface_explains(world)
        assert "call for UALICE001 not placed: DIALER_DB is read-only" in world.bot.log

        if disk is not None:
            disk.remount("rw")
        else:
            for file in files:
                file.chmod(0o644)
        assert_recovered(world)
    finally:
        world.stop()


def test_a_full_disk(tmp_path: Path, pbx: FakePbx, slack: FakeSlack, disk: Disk | None) -> None:
    """The disk holding DIALER_DB fills up while the bot runs; then space comes back."""
    if disk is None:
        pytest.skip(
            "needs `mount -t tmpfs` (root); test_store simulates SQLITE_FULL with max_page_count"
        )
    world = world_on(tmp_path, pbx, slack, disk.path)
    try:
        assert health(world) == 200
        disk.fill()
        wait_until(lambda: health(world) == 503, timeout=5, what="/healthz to answer 503")
        assert_every_surface_explains(world)
        assert world.bot is not None
        assert "call for UALICE001 not placed: the disk holding DIALER_DB is full" in world.bot.log
        disk.free()
        assert_recovered(world)
        wait_until(lambda: health(world) == 200, timeout=5, what="/healthz to answer 200")
    finally:
        world.stop()


def test_a_failing_disk(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> None:
    """Every write to DIALER_DB fails with an I/O error (a file-size limit put on the bot)."""
    world = world_on(tmp_path, pbx, slack, tmp_path)
    assert world.bot is not None and world.bot.proc is not None
    pid = world.bot.proc.pid
    limits = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    try:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, limits[1]))
        assert_every_surface_explains(world)
        assert "call for UALICE001 not placed: DIALER_DB can't be used (disk I/O error)" in (
            world.bot.log
        )
        resource.prlimit(pid, resource.RLIMIT_FSIZE, limits)
        assert_recovered(world)
    finally:
        if world.bot.proc.poll() is None:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, limits)
        world.stop()
