"""Clients that connect and stall cannot take the HTTP server down (a real process, fd limit)."""

from __future__ import annotations

import functools
import resource
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests import botproc
from tests.e2e.conftest import World
from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.waiting import wait_until
from tests.workspace import seed_links

FILES = 256
STALLED = 300
#: The start of a request that never finishes: the header block has no blank line after it.
PARTIAL = b"POST /slack/events HTTP/1.1\r\nHost: dialer\r\nContent-Type: application/x-www-"


def limit_open_files() -> None:
    """In the bot's process, before it starts: at most FILES open files (as `ulimit -n 256`)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILES, hard))


def stall(port: int) -> socket.socket | None:
    """A connection that sends part of a request and then nothing; None if it was refused."""
    sock = socket.socket()
    sock.settimeout(2)
    try:
        sock.connect(("127.0.0.1", port))
        sock.sendall(PARTIAL)
    except OSError:
        sock.close()
        return None
    return sock


def test_stalled_partial_requests_do_not_stop_a_signed_dial(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < FILES:
        pytest.skip(f"the hard open-files limit is {hard}, below {FILES}")
    popen = functools.partial(subprocess.Popen, preexec_fn=limit_open_files)
    monkeypatch.setattr(botproc.subprocess, "Popen", popen)
    world = World(tmp_path, pbx, slack)
    seed_links(world.db_path)
    bot = world.start()
    monkeypatch.undo()
    held: list[socket.socket] = []
    try:
        lines_before = len(bot.log.splitlines())
        for _ in range(STALLED):
            sock = stall(world.port)
            if sock is not None:
                held.append(sock)
        # Every partial request is in, and they are all still open on this side.
        status, ack, response_url = world.dial("580-867-5309")
        assert status == 200 and "Calling" in ack["text"], ack
        assert "ringing" in world.final_reply(response_url)
        assert [(c.extension, c.phonenumber) for c in pbx.calls] == [("309", "15808675309")]
        # The ack came in time: post_signed's own clock, on a fresh connection.
        started = time.monotonic()
        status, ack, _ = world.dial("580-867-5310", user="UBOB00001")
        assert status == 200 and time.monotonic() - started < 3.0, ack

        # The server held off the stalled clients (closed at the cap or after 5 s), and said
        # so in one line, not a traceback per connection.
        wait_until(lambda: "HTTP connections dropped:" in bot.log, timeout=10)
        grown = bot.log.splitlines()[lines_before:]
        assert "Traceback" not in bot.log and "out of system resource" not in bot.log
        assert len(grown) <= 6, "\n".join(grown)
    finally:
        for sock in held:
            sock.close()
        world.stop()
