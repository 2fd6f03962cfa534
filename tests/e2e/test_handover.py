"""Two processes on one DIALER_DB: a rolling upgrade neither rings anyone twice nor loses a call.

A steady stream of dials runs through an upgrade, in HTTP mode behind a proxy that switches
backends and in Socket Mode with both processes connected. That a second process leaves the
first one's call in flight alone is tested in-process: tests/inproc/test_two_processes.py.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.botproc import BotProcess
from tests.e2e.conftest import LINKED, SIGNING_SECRET, World
from tests.e2e.socket_world import SocketWorld
from tests.fakes.pbx import FakePbx
from tests.fakes.proxy import SwitchingProxy
from tests.fakes.signing import post_signed, slash_command_body, slash_command_payload
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

#: Enough room for the stream: the per-user budget is not what these tests are about.
ROOMY = {"DIALER_USER_RATE": "1000/60"}
STREAM_SECONDS = 8.0
DIALS_PER_SECOND = 5
ACK_LIMIT = 3.0


def rows(db_path: str, sql: str, *args: object) -> list[tuple]:
    """Read the shared database from outside both processes."""
    with closing(sqlite3.connect(db_path, timeout=10)) as conn:
        return conn.execute(sql, args).fetchall()


# --- the handover ------------------------------------------------------------------------------


@dataclass
class Dial:
    """One dial of the stream: who called which number, and what came back."""

    number: str
    user: str
    response_url: str
    ack_text: str = ""
    ack_seconds: float = 0.0
    status: int = 0

    @property
    def digits(self) -> str:
        """What the PBX should have been asked to call."""
        return "1" + "".join(ch for ch in self.number if ch.isdigit())


def stream(send: Callable[[Dial], None], slack: FakeSlack) -> tuple[list[Dial], threading.Thread]:
    """Start ~5 dials a second for 8 s in the background; answer the dials and the thread."""
    users = list(LINKED)
    total = int(STREAM_SECONDS * DIALS_PER_SECOND)
    dials = [
        Dial(f"405-555-{1000 + n:04d}", users[n % len(users)], slack.response_url())
        for n in range(total)
    ]

    def run() -> None:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            futures: list[Future[None]] = []
            for n, dial in enumerate(dials):
                time.sleep(max(0.0, start + n / DIALS_PER_SECOND - time.monotonic()))
                futures.append(pool.submit(send, dial))
            for future in futures:
                future.result()

    thread = threading.Thread(target=run, name="stream")
    thread.start()
    return dials, thread


def assert_each_placed_once_and_answered(
    dials: list[Dial], pbx: FakePbx, slack: FakeSlack, db_path: str
) -> None:
    """Every dial rang exactly once and its user read 'ringing'; nothing was interrupted."""
    for dial in dials:
        posts = slack.wait_for_posts(dial.response_url, count=1, timeout=15)
        assert "ringing" in posts[-1]["text"], (dial, posts)
    placed = Counter(call.phonenumber for call in pbx.calls)
    assert placed == Counter(dial.digits for dial in dials), "a dial was lost or placed twice"
    outcomes = Counter(o for (o,) in rows(db_path, "SELECT outcome FROM calls"))
    assert outcomes == {"placed": len(dials)}, outcomes
    owners = rows(db_path, "SELECT DISTINCT owner FROM calls")
    assert len(owners) == 2, f"both processes should have placed calls: {owners}"


@pytest.mark.slow
def test_http_handover_behind_a_proxy(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> None:
    """A starts; B starts on the same file; the proxy switches to B; A gets SIGTERM."""
    pbx.latency = 0.3  # calls are in flight when A is told to stop
    old, new = World(tmp_path, pbx, slack), World(tmp_path, pbx, slack)
    old.start(**ROOMY)
    old.link_everyone()
    with SwitchingProxy(old.port) as proxy:

        def send(dial: Dial) -> None:
            body = slash_command_body(
                "/dial", dial.number, user_id=dial.user, response_url=dial.response_url
            )
            dial.status, text, dial.ack_seconds = post_signed(
                proxy.url, body, SIGNING_SECRET, timeout=10
            )
            dial.ack_text = text

        try:
            dials, thread = stream(send, slack)
            time.sleep(2)  # A alone takes the stream for a while
            new.start(**ROOMY)  # ready: it answers /healthz and Slack's requests
            proxy.switch(new.port)
            time.sleep(0.5)  # requests already sent to A reach it
            assert old.bot is not None and old.bot.proc is not None
            old.bot.proc.send_signal(signal.SIGTERM)
            assert old.bot.wait_exit(timeout=30) == 0
            thread.join(timeout=STREAM_SECONDS + 15)
            assert not thread.is_alive()

            for dial in dials:
                assert dial.status == 200 and "Calling" in dial.ack_text, dial
                assert dial.ack_seconds < ACK_LIMIT, dial
            assert proxy.connections.get(old.port) and proxy.connections.get(new.port)
            assert proxy.failures == 0
            assert_each_placed_once_and_answered(dials, pbx, slack, old.db_path)
            assert "stopped" in old.bot.log and "were in flight" not in new.bot.log
            assert "Traceback" not in old.bot.log + new.bot.log
        finally:
            new.stop()
            old.stop()


@pytest.mark.slow
def test_socket_mode_handover_with_both_connections_open(
    tmp_path: Path, pbx: FakePbx, slack: FakeSlack
) -> None:
    """Slack spreads envelopes over A's and B's connections; A gets SIGTERM mid-stream."""
    pbx.latency = 0.3
    with FakeSocketMode() as socket:
        old = SocketWorld(tmp_path, pbx, slack, socket)
        old.start(**ROOMY)
        old.link_everyone()
        socket.spread = True  # like Slack, over every open connection of the app
        socket.redeliver = True  # and what a closing connection left unacked goes elsewhere
        new = BotProcess(old.env)
        sent: dict[str, Dial] = {}
        lock = threading.Lock()

        def send(dial: Dial) -> None:
            payload = slash_command_payload(
                "/dial", dial.number, user_id=dial.user, response_url=dial.response_url
            )
            envelope_id = socket.send_envelope("slash_commands", payload)
            with lock:
                sent[envelope_id] = dial

        try:
            dials, thread = stream(send, slack)
            time.sleep(2)  # A alone takes the stream for a while
            before = socket.connections
            new.start()  # ready: connected, so two connections are open
            socket.wait_connected(min_connections=before + 1)
            assert socket.live_connections == 2
            time.sleep(1)  # envelopes go to both
            assert old.bot is not None and old.bot.proc is not None
            old.bot.proc.send_signal(signal.SIGTERM)
            assert old.bot.wait_exit(timeout=30) == 0
            thread.join(timeout=STREAM_SECONDS + 15)
            assert not thread.is_alive()

            assert len(sent) == len(dials)
            for envelope_id, dial in sent.items():
                socket.wait_ack(envelope_id, timeout=5)
                latency = socket.ack_latency(envelope_id)
                assert latency is not None and latency < ACK_LIMIT, (dial, latency)
            assert_each_placed_once_and_answered(dials, pbx, slack, old.db_path)
            assert "stopped" in old.bot.log and "were in flight" not in new.log
            assert "Traceback" not in old.bot.log + new.log
        finally:
            new.stop()
            old.stop()
