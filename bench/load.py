"""The load: N concurrent /dial requests over HTTP or Socket Mode, timed per request."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from tests.fakes.pbx import FakePbx
from tests.fakes.signing import signed_headers, slash_command_body, slash_command_payload
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

ACK_DEADLINE = 3.0


@dataclass
class Request:
    """One user's /dial and what became of it; times are seconds, None when it never came."""

    user: str
    extension: str
    text: str
    response_url: str
    sent_at: float = 0.0
    ack_seconds: float | None = None
    ack_problem: str = ""
    final_seconds: float | None = None

    @property
    def acked_in_time(self) -> bool:
        """Whether Slack would have seen a successful ack within 3 s."""
        return self.ack_seconds is not None and self.ack_seconds <= ACK_DEADLINE


@dataclass(frozen=True)
class Burst:
    """How a burst went out: the spread between the first and last request leaving."""

    send_spread: float


def make_requests(
    slack: FakeSlack, users: list[tuple[str, str]], numbers: list[str]
) -> list[Request]:
    """One /dial per (user, extension), each with its own response_url on FakeSlack."""
    return [
        Request(user, extension, number, slack.response_url(user))
        for (user, extension), number in zip(users, numbers, strict=True)
    ]


def _http_payload(url: str, secret: str, request: Request) -> bytes:
    """The raw bytes of one signed slash command POST (a new connection, closed after)."""
    parts = urllib.parse.urlsplit(url)
    body = slash_command_body(
        "/dial", request.text, user_id=request.user, response_url=request.response_url
    )
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"{name}: {value}" for name, value in signed_headers(body, secret).items()]
    head += [f"Content-Length: {len(body.encode())}", "Connection: close", "", ""]
    return "\r\n".join(head).encode() + body.encode()


async def _post_raw(
    host: str, port: int, payload: bytes, gate: asyncio.Event, timeout: float
) -> tuple[float, float | None, str]:
    """Connect, send one request, read the status and body: (sent at, seconds, problem)."""
    await gate.wait()
    started = time.monotonic()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(payload)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            elapsed = time.monotonic() - started
        status = status_line.split()[1].decode() if status_line else "no status"
        return started, elapsed, "" if status == "200" else f"HTTP {status}"
    except TimeoutError:
        return started, None, f"no answer in {timeout:g}s"
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
        return started, None, type(error).__name__
    finally:
        if writer is not None:
            writer.close()


async def _post_all(
    url: str, payloads: list[bytes], timeout: float
) -> list[tuple[float, float | None, str]]:
    """Fire every request at once from one event loop."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    gate = asyncio.Event()
    tasks = [asyncio.create_task(_post_raw(host, port, p, gate, timeout)) for p in payloads]
    await asyncio.sleep(0)
    gate.set()
    return await asyncio.gather(*tasks)


def _run_posts(
    url: str, payloads: list[bytes], timeout: float
) -> list[tuple[float, float | None, str]]:
    """Entry point in the load process."""
    return asyncio.run(_post_all(url, payloads, timeout))


class HttpLoad:
    """A separate process that fires the HTTP burst, so the fakes' threads cannot slow it."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
        self._pool.submit(time.monotonic).result(timeout=60)

    def close(self) -> None:
        """Stop the load process."""
        self._pool.shutdown(cancel_futures=True)

    def burst(self, url: str, secret: str, requests: list[Request], timeout: float = 10.0) -> Burst:
        """Signed form posts, all concurrent; each waits at most `timeout` for its ack."""
        payloads = [_http_payload(url, secret, r) for r in requests]
        results = self._pool.submit(_run_posts, url, payloads, timeout).result(timeout + 60)
        for request, (sent_at, seconds, problem) in zip(requests, results, strict=True):
            request.sent_at = sent_at
            if problem:
                request.ack_problem = problem
            else:
                request.ack_seconds = seconds
        sent = [r.sent_at for r in requests]
        return Burst(max(sent) - min(sent))


def socket_burst(fake: FakeSocketMode, requests: list[Request], timeout: float = 10.0) -> Burst:
    """Send N slash_commands envelopes back to back, then collect their acks."""
    envelopes: list[tuple[Request, str]] = []
    send_deadline = time.monotonic() + timeout
    for request in requests:
        payload = slash_command_payload(
            "/dial", request.text, user_id=request.user, response_url=request.response_url
        )
        request.sent_at = time.monotonic()
        if request.sent_at > send_deadline:
            request.ack_problem = f"envelope not sent within {timeout:g}s"
            continue
        try:
            envelopes.append((request, fake.send_envelope("slash_commands", payload)))
        except (AssertionError, TimeoutError, RuntimeError) as error:
            request.ack_problem = f"envelope not sent ({type(error).__name__})"
    spread = max(r.sent_at for r in requests) - requests[0].sent_at
    deadline = time.monotonic() + timeout
    waiting = list(envelopes)
    while waiting and time.monotonic() < deadline:
        still = []
        for request, envelope_id in waiting:
            latency = fake.ack_latency(envelope_id)
            if latency is None:
                still.append((request, envelope_id))
            else:
                request.ack_seconds = latency
        waiting = still
        time.sleep(0.02)
    for request, envelope_id in waiting:
        latency = fake.ack_latency(envelope_id)
        if latency is None:
            request.ack_problem = f"no envelope ack in {timeout:g}s"
        else:
            request.ack_seconds = latency
    return Burst(spread)


def collect_finals(slack: FakeSlack, requests: list[Request], deadline: float) -> None:
    """Wait (until `deadline`, monotonic) for the first post to each response_url."""
    by_path = {urllib.parse.urlsplit(r.response_url).path: r for r in requests}
    while True:
        for post in list(slack.response_posts):
            request = by_path.get(post.path)
            if request is not None and request.final_seconds is None:
                request.final_seconds = post.at - request.sent_at
        if all(r.final_seconds is not None for r in requests) or time.monotonic() >= deadline:
            return
        time.sleep(0.05)


def calls_per_extension(pbx: FakePbx) -> Counter[str]:
    """How many calls the PBX accepted from each extension."""
    return Counter(call.extension for call in list(pbx.calls))
