"""Three replicas on one shared database: a burst with one SIGKILLed, then a rolling restart.

In HTTP mode the replicas sit behind a round-robin proxy (a load balancer that skips a backend
that refuses connections); in Socket Mode each holds a connection to one fake Socket Mode server
that spreads envelopes over them and redelivers what a closed connection left unacked. Each
journey runs on one SQLite file (replicas on one host) and on one PostgreSQL (several hosts):

1. a burst of 300 /dial, sent fast, with one replica SIGKILLed halfway; a request the killed
   replica never acked is resent, as Slack (or the load balancer) does: with X-Slack-Retry-Num
   in HTTP, as a redelivery to another connection in Socket Mode;
2. three requests replayed to every replica, and one user's 20 dials spread over them all;
3. a rolling restart of all three, one at a time, under steady traffic;
4. then: every request acked within 3 s; no destination placed twice; the user got exactly
   their budget; the replays acted once; the killed replica's calls in flight were settled by
   a survivor; and no dial the killed replica had claimed was lost — each was placed, or
   answered with a sentence, or recorded as interrupted.
"""

from __future__ import annotations

import asyncio
import http.client
import sqlite3
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.botproc import BotProcess, free_port
from tests.fakes.pbx import FakePbx
from tests.fakes.proxy import RoundRobinProxy
from tests.fakes.signing import (
    post_raw,
    post_signed,
    retry_headers,
    signed_headers,
    slash_command_body,
    slash_command_payload,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.workspace import ADMIN, BOT_TOKEN, PBX_KEY, SIGNING_SECRET, seed_links

ACK_LIMIT = 3.0  # Slack's: a later ack is an error the user sees (and Slack may resend)
PBX_LATENCY = 0.5  # calls are in flight when the replica is killed
BURST_USERS = 56  # x 5 dials each, under the default budget of 10 a minute
BUDGET_USER = "UBUDGET01"
BUDGET = 10  # DIALER_USER_RATE's default, 10/60
BUDGET_DIALS = 20
STEADY_USERS = 20  # x 4 dials each during the rolling restart
STEADY_PER_SECOND = 5
KILL_AFTER = 150  # of the burst's 300
#: A killed replica is stale after 15 s; a survivor settles its calls within ~2 s more.
SETTLE_SECONDS = 45.0
CALLING = ":telephone_receiver: Calling"  # the ack of a dial under way: not yet an answer

pytestmark = pytest.mark.slow


# --- the shared database --------------------------------------------------------------------


@dataclass
class Shared:
    """The database every replica shares: one SQLite file, or one PostgreSQL database."""

    path: str = ""
    url: str = ""

    @property
    def env(self) -> dict[str, str]:
        """The setting that points a replica at it."""
        return {"DIALER_DATABASE_URL": self.url} if self.url else {"DIALER_DB": self.path}

    def rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Read it from outside every replica (`?` marks the arguments)."""
        if not self.url:
            with closing(sqlite3.connect(self.path, timeout=10)) as conn:
                return conn.execute(sql, args).fetchall()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql.replace("?", "%s"), args).fetchall()  # type: ignore[arg-type]

    def seed(self, links: dict[str, str]) -> None:
        """Link the users before the replicas start, as an admin's /dial-link would have."""
        if not self.url:
            seed_links(self.path, links)
            return
        from bot.store.pg.store import PgStore

        async def seed() -> None:
            store = PgStore(self.url)
            await store.open()
            try:
                for user, extension in links.items():
                    await store.links.set(user, extension, ADMIN)
            finally:
                await store.close()

        asyncio.run(seed())


@pytest.fixture(params=["sqlite", "postgres"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Shared:
    """One SQLite file (replicas on one host), or one PostgreSQL database (several hosts)."""
    if request.param == "sqlite":
        return Shared(path=str(tmp_path / "dialer.db"))
    return Shared(url=request.getfixturevalue("postgres_url"))


# --- the dials ------------------------------------------------------------------------------


@dataclass
class Dial:
    """One /dial: who, which number, every attempt's outcome, and what the user was told."""

    user: str
    number: str
    response_url: str
    body: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    #: The ack of the attempt Slack kept (the last), its text and how long it took.
    status: int = 0
    ack_text: str = ""
    ack_seconds: float = 0.0
    #: Attempts cut without an ack (the killed replica), each then sent again.
    cut: int = 0
    #: Attempts that took longer than Slack waits: never expected.
    late: int = 0
    envelope_id: str = ""

    @property
    def digits(self) -> str:
        """What the PBX is asked to call."""
        return "1" + "".join(ch for ch in self.number if ch.isdigit())


def users(prefix: str, count: int) -> list[str]:
    """Slack user IDs for a crowd of callers."""
    return [f"U{prefix}{n:04d}" for n in range(count)]


def make_dials(slack: FakeSlack, callers: list[str], each: int, first: int) -> list[Dial]:
    """`each` dials per caller to distinct numbers, the callers' turns interleaved."""
    dials = []
    for turn in range(each):
        for n, user in enumerate(callers):
            number = f"405-555-{first + turn * len(callers) + n:04d}"
            dials.append(Dial(user, number, slack.response_url()))
    return dials


# --- the two modes --------------------------------------------------------------------------


class Replicas:
    """Three (or more, during a restart) bots on one database, and how Slack reaches them."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.bots: list[BotProcess] = []

    def replica_env(self) -> dict[str, str]:
        """One replica's settings: the same for all (the HTTP mode adds its own port)."""
        return dict(self.env)

    def launch(self, count: int) -> list[BotProcess]:
        """Start `count` replicas at once and wait until each is ready."""
        bots = [BotProcess(self.replica_env()) for _ in range(count)]
        for bot in bots:
            bot.start(wait_ready=False)
        for bot in bots:
            bot.wait_for("ready:", timeout=30)
        for bot in bots:
            self.joined(bot)
        self.bots += bots
        return bots

    def joined(self, bot: BotProcess) -> None:
        """A ready replica now takes requests."""

    def leaving(self, bot: BotProcess) -> None:
        """A replica is about to stop: send it nothing new."""

    def restart(self, old: BotProcess) -> BotProcess:
        """A rolling restart's step: the new replica first, then SIGTERM to the old one."""
        (new,) = self.launch(1)
        self.leaving(old)
        if old.proc is not None and old.proc.poll() is None:
            assert old.terminate() == 0, old.log
        return new

    def send(self, dial: Dial) -> None:
        """Deliver a dial the way Slack would, resending what got no ack."""
        raise NotImplementedError

    def replay(self, dial: Dial) -> str:
        """Deliver a dial's request once more; answer the ack's text ('' for an empty ack)."""
        raise NotImplementedError

    def finish(self, dials: list[Dial]) -> None:
        """Collect what the transport knows about acks once everything was sent."""

    def stop(self) -> None:
        """Stop every replica still running."""
        for bot in self.bots:
            bot.stop()


class HttpReplicas(Replicas):
    """Replicas in HTTP mode, each on its own port, behind a round-robin proxy."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__({**env, "SLACK_SIGNING_SECRET": SIGNING_SECRET})
        self.proxy = RoundRobinProxy([])
        self.ports: dict[int, int] = {}  # id(bot) -> port

    def replica_env(self) -> dict[str, str]:
        """The shared settings and a port of its own."""
        return {**self.env, "PORT": str(free_port())}

    def joined(self, bot: BotProcess) -> None:
        """Into the proxy's rotation."""
        self.ports[id(bot)] = int(bot.env["PORT"])
        self.proxy.add(self.ports[id(bot)])

    def leaving(self, bot: BotProcess) -> None:
        """Out of the rotation (Kubernetes takes a pod out of the endpoints before SIGTERM)."""
        self.proxy.remove(self.ports[id(bot)])

    def send(self, dial: Dial) -> None:
        """POST the signed /dial through the proxy; a cut request is sent again, as a retry."""
        dial.body = slash_command_body(
            "/dial", dial.number, user_id=dial.user, response_url=dial.response_url
        )
        for attempt in range(4):
            headers = retry_headers(attempt, "http_error") if attempt else {}
            try:
                status, text, seconds = post_signed(
                    self.proxy.url,
                    dial.body,
                    SIGNING_SECRET,
                    timeout=ACK_LIMIT,
                    extra_headers=headers,
                )
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, TimeoutError):
                    dial.late += 1
                else:
                    dial.cut += 1
                continue
            except TimeoutError:
                dial.late += 1
                continue
            dial.status, dial.ack_text, dial.ack_seconds = status, _text(text), seconds
            return

    def replay(self, dial: Dial) -> str:
        """The very same signed request again (a replay within the signature's window)."""
        headers = signed_headers(dial.body, SIGNING_SECRET)
        status, text, _ = post_raw(self.proxy.url, dial.body, headers, timeout=ACK_LIMIT)
        assert status == 200, (status, text)
        return _text(text)

    def finish(self, dials: list[Dial]) -> None:
        """Every dial's last attempt was acked in time, and only the kill cut any."""
        for dial in dials:
            assert dial.status == 200 and dial.late == 0, dial
            assert dial.ack_seconds < ACK_LIMIT, dial


class SocketReplicas(Replicas):
    """Replicas in Socket Mode, each with a connection to one FakeSocketMode that spreads."""

    def __init__(self, env: dict[str, str], socket: FakeSocketMode, app_token: str) -> None:
        super().__init__({**env, "SLACK_APP_TOKEN": app_token})
        self.socket = socket
        socket.spread = True  # like Slack, over every open connection of the app
        socket.redeliver = True  # and what a closed connection left unacked, to another
        self._lock = threading.Lock()

    def launch(self, count: int) -> list[BotProcess]:
        """Start them and wait until each holds a connection."""
        before = self.socket.connections
        bots = super().launch(count)
        self.socket.wait_connected(timeout=15, min_connections=before + count)
        return bots

    def send(self, dial: Dial) -> None:
        """Send the /dial's envelope; the fake redelivers it if its connection closes unacked."""
        dial.payload = slash_command_payload(
            "/dial", dial.number, user_id=dial.user, response_url=dial.response_url
        )
        dial.envelope_id = self.socket.send_envelope("slash_commands", dial.payload)

    def replay(self, dial: Dial) -> str:
        """The same payload in a new envelope (an Events API retry carries the same ids)."""
        envelope_id = self.socket.send_envelope("slash_commands", dial.payload)
        ack = self.socket.wait_ack(envelope_id, timeout=ACK_LIMIT + 2)
        return str((ack.get("payload") or {}).get("text", ""))

    def finish(self, dials: list[Dial]) -> None:
        """Every envelope was acked, each delivery within 3 s of being sent."""
        redelivered = set(self.socket.redelivered)
        for dial in dials:
            ack = self.socket.wait_ack(dial.envelope_id, timeout=ACK_LIMIT + 5)
            latency = self.socket.delivery_latency(dial.envelope_id)
            assert latency is not None and latency < ACK_LIMIT, (dial, latency)
            dial.status = 200
            dial.ack_text = str((ack.get("payload") or {}).get("text", ""))
            dial.cut = int(dial.envelope_id in redelivered)


def _text(body: str) -> str:
    """An ack body's text ('' for an empty ack)."""
    import json

    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return body
    return str(value.get("text", "")) if isinstance(value, dict) else body


# --- the journey ----------------------------------------------------------------------------


def burst(replicas: Replicas, dials: list[Dial], kill: Callable[[], None]) -> None:
    """Send every dial at once from 32 threads; `kill` runs once half of them are out (it
    may wait for the moment it wants)."""
    started = threading.Semaphore(0)

    def send(dial: Dial) -> None:
        started.release()
        replicas.send(dial)

    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(send, dial) for dial in dials]
        for _ in range(KILL_AFTER):
            started.acquire()
        kill()
        for future in futures:
            future.result()


def steady(replicas: Replicas, dials: list[Dial]) -> threading.Thread:
    """Send the dials at a steady pace from a background thread; answer the thread."""

    def run() -> None:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = []
            for n, dial in enumerate(dials):
                time.sleep(max(0.0, start + n / STEADY_PER_SECOND - time.monotonic()))
                futures.append(pool.submit(replicas.send, dial))
            for future in futures:
                future.result()

    thread = threading.Thread(target=run, name="steady")
    thread.start()
    return thread


def told(slack: FakeSlack, dial: Dial) -> list[str]:
    """Everything the user read about this dial: the ack, then the replies."""
    texts = [dial.ack_text] if dial.ack_text else []
    return texts + [post.get("text", "") for post in slack.posts_to(dial.response_url)]


def journey(
    replicas: Replicas, shared: Shared, pbx: FakePbx, slack: FakeSlack, budget_ext: str
) -> None:
    """Burst with a kill, replays, a budget, a rolling restart; then account for every dial."""
    first = replicas.launch(3)
    victim = first[1]
    assert victim.proc is not None
    victim_owner = ""
    deadline = time.monotonic() + 10
    while not victim_owner:  # its heartbeat names it
        assert time.monotonic() < deadline, "the replica never wrote its heartbeat"
        found = shared.rows("SELECT owner FROM processes WHERE pid = ?", victim.proc.pid)
        victim_owner = found[0][0] if found else ""
        time.sleep(0.05 if not victim_owner else 0)

    crowd = make_dials(slack, users("BURST", BURST_USERS), 5, 1000)
    budgeted = make_dials(slack, [BUDGET_USER] * BUDGET_DIALS, 1, 3000)[:BUDGET_DIALS]
    # The budget user's dials spread through the burst, so they reach every replica.
    dials = list(crowd)
    for n, dial in enumerate(budgeted):
        dials.insert(n * len(dials) // len(budgeted) + n, dial)
    assert len(dials) == 300

    in_flight_at_kill: list[int] = []

    def pending() -> int:
        return shared.rows(
            "SELECT COUNT(*) FROM calls WHERE owner = ? AND outcome = 'pending'", victim_owner
        )[0][0]

    def kill() -> None:
        deadline = time.monotonic() + 5
        while pending() < 3 and time.monotonic() < deadline:  # calls of its own in flight
            time.sleep(0.01)
        victim.kill()  # SIGKILL: no draining, no goodbye
        in_flight_at_kill.append(pending())

    burst(replicas, dials, kill)
    replicas.finish(dials)  # every request of the burst acked, each delivery within 3 s

    # Replays: three placed dials, each sent again to every replica in turn.
    replayed: list[Dial] = []
    deadline = time.monotonic() + 5
    while len(replayed) < 3 and time.monotonic() < deadline:  # the PBX answers in 0.5 s
        rung = {call.phonenumber for call in pbx.calls}
        replayed = [dial for dial in crowd[:60] if dial.digits in rung][:3]
        time.sleep(0.05)
    assert len(replayed) == 3, "too few placed dials to replay"
    replay_acks = [replicas.replay(dial) for dial in replayed for _ in range(3)]

    # A rolling restart of all three, one at a time, under steady traffic: the killed one's
    # replacement first, then the other two (the killed replica is settled meanwhile).
    calm = make_dials(slack, users("STEADY", STEADY_USERS), 4, 5000)
    traffic = steady(replicas, calm)
    for old in (victim, first[0], first[2]):
        replicas.restart(old)
    traffic.join(timeout=60)
    assert not traffic.is_alive()

    deadline = time.monotonic() + SETTLE_SECONDS
    while pending():
        assert time.monotonic() < deadline, "the killed replica's calls were never settled"
        time.sleep(0.5)
    replicas.finish(calm)
    # The burst's calls on the survivors were answered long ago (the kill's settling took
    # 15 s); the steady stream's last calls get their final replies now.
    for dial in calm:
        if dial.ack_text.startswith(CALLING):
            slack.wait_for_posts(dial.response_url, count=1, timeout=15)

    log = "".join(bot.log for bot in replicas.bots)
    for secret in (PBX_KEY, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in log, "a secret leaked into a replica's log"
    assert "Traceback" not in log, log[-4000:]

    # Every claim below is checked, and every one that fails is named together.
    problems: list[str] = []

    # Each destination placed at most once, wherever its request (or its resend) landed.
    placed = Counter(call.phonenumber for call in pbx.calls)
    twice = {number: count for number, count in placed.items() if count > 1}
    if twice:
        problems.append(f"rang twice: {twice}")

    # No dial the killed replica had claimed is lost: placed, answered, or recorded interrupted.
    interrupted = {
        "".join(ch for ch in (destination or "") if ch.isdigit())
        for (destination,) in shared.rows(
            "SELECT destination FROM calls WHERE outcome = 'interrupted'"
        )
    }
    lost = []
    for dial in dials:
        answered = [text for text in told(slack, dial) if not text.startswith(CALLING)]
        if not placed[dial.digits] and not answered and dial.digits not in interrupted:
            lost.append(dial)
    cut = [dial for dial in dials if dial.cut]
    if lost:
        problems.append(
            f"{len(lost)} dial(s) lost (no call, no answer, no row), {sum(d in cut for d in lost)}"
            f" of the {len(cut)} the kill cut and that were resent: "
            + ", ".join(f"{d.number} (acked {d.ack_text!r})" for d in lost)
        )
    if not cut:
        problems.append("the kill cut no request: it proved nothing")

    # The killed replica's calls in flight were settled by a survivor, as interrupted.
    settled = shared.rows(
        "SELECT COUNT(*) FROM calls WHERE owner = ? AND outcome = 'interrupted'", victim_owner
    )[0][0]
    if not in_flight_at_kill[0] or settled < 1:
        problems.append(f"in flight at the kill: {in_flight_at_kill[0]}, settled: {settled}")

    # The budget user got exactly their budget: 10 sent (placed or interrupted), the rest told.
    sent = shared.rows("SELECT COUNT(*) FROM calls WHERE user_id = ? AND sent = 1", BUDGET_USER)
    rang = sum(1 for call in pbx.calls if call.extension == budget_ext)
    held = [d for d in budgeted if any("a lot of calls" in t for t in told(slack, d))]
    if sent[0][0] != BUDGET or rang > BUDGET or len(held) < BUDGET_DIALS - BUDGET - len(cut):
        problems.append(f"budget {BUDGET}: sent {sent[0][0]}, rang {rang}, held {len(held)}")

    # The replays acted once: an empty ack wherever they landed, and one call each.
    if replay_acks != [""] * len(replay_acks) or any(placed[d.digits] != 1 for d in replayed):
        problems.append(f"replays acted: {replay_acks}, {[placed[d.digits] for d in replayed]}")

    # The rolling restart rang everyone in the steady stream exactly once, and told them so.
    for dial in calm:
        if placed[dial.digits] != 1 or not any("ringing" in t for t in told(slack, dial)):
            problems.append(f"steady {dial.number}: rang {placed[dial.digits]} time(s)")
    assert not problems, "\n".join(problems)


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture
def crowd_env(shared: Shared, pbx: FakePbx, slack: FakeSlack) -> Iterator[dict[str, str]]:
    """Link a crowd of callers in the shared database; answer the replicas' shared settings."""
    links: dict[str, str] = {}
    callers = users("BURST", BURST_USERS) + users("STEADY", STEADY_USERS) + [BUDGET_USER]
    for n, user in enumerate(callers):
        slack.add_user(user, name=user.lower())
        links[user] = str(400 + n)
    shared.seed(links)
    pbx.latency = PBX_LATENCY
    yield {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "WEBFONES_API_KEY": PBX_KEY,
        "WEBFONES_BASE_URL": pbx.url,
        "DIALER_ADMINS": ADMIN,
        **shared.env,
    }


def budget_extension(crowd_env: dict[str, str]) -> str:
    """The budget user's extension (the last one linked)."""
    return str(400 + BURST_USERS + STEADY_USERS)


def test_http_replicas_behind_a_round_robin_proxy(
    crowd_env: dict[str, str], shared: Shared, pbx: FakePbx, slack: FakeSlack
) -> None:
    """Three HTTP replicas, one killed mid-burst, then restarted one at a time."""
    replicas = HttpReplicas(crowd_env)
    replicas.proxy.start()
    try:
        journey(replicas, shared, pbx, slack, budget_extension(crowd_env))
        assert replicas.proxy.failures == 0
    finally:
        replicas.stop()
        replicas.proxy.stop()


def test_socket_mode_replicas_on_one_app(
    crowd_env: dict[str, str], shared: Shared, pbx: FakePbx, slack: FakeSlack
) -> None:
    """Three Socket Mode replicas, one killed mid-burst, then restarted one at a time."""
    with FakeSocketMode() as socket:
        slack.socket_mode_url = socket.url
        replicas = SocketReplicas(crowd_env, socket, slack.app_token)
        try:
            journey(replicas, shared, pbx, slack, budget_extension(crowd_env))
        finally:
            replicas.stop()
