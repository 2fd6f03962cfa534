"""HTTP mode's server: junk gets a 4xx and one short line, slow clients are bounded, ports split."""

from __future__ import annotations

import asyncio
import logging
from unittest import mock

import aiohttp
import pytest
from aiohttp import web

from bot import logs
from bot.metrics import Metrics
from bot.slack import connections
from bot.slack.connections import connection_cap
from bot.slack.http_server import create_web_app, listeners, serve_http
from tests.botproc import free_port


def web_app() -> web.Application:
    """The real aiohttp app; Bolt and the store are never reached by these requests."""
    db = mock.Mock()
    db.run_in_pool = mock.AsyncMock(return_value="ok")
    return create_web_app(mock.Mock(), db, Metrics(), "secret")


async def exchange(port: int, raw: bytes) -> bytes:
    """Send raw bytes on a fresh connection; answer what came back before the server closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def serving(**kw: object) -> tuple[web.AppRunner, int]:
    port = free_port()
    where = listeners("127.0.0.1", port, "127.0.0.1", kw.pop("metrics_port", None))  # type: ignore[arg-type]
    runner = await serve_http(web_app(), where, cap=kw.pop("cap", 100))  # type: ignore[arg-type]
    return runner, port


def status(answer: bytes) -> int:
    """The HTTP status of a raw response (0 when the server sent nothing)."""
    first = answer.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) > 1 else 0


BARE_LF = b"POST /slack/events HTTP/1.1\r\nHost: x\nX-Evil: 1\r\nContent-Length: 0\r\n\r\n"
LONG_LINE = b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("raw", [BARE_LF, LONG_LINE], ids=["bare-LF-header", "10KB-line"])
async def test_a_malformed_request_is_a_400_and_one_short_line(
    raw: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure([])
    runner, port = await serving()
    try:
        answer = await exchange(port, raw)
    finally:
        await runner.cleanup()
    assert status(answer) == 400
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "WARNING aiohttp.server: refused a malformed HTTP request (" in lines[0]
    # aiohttp before 3.11.12 does not hand the filter the peer's address; later ones do.
    where = "from 127.0.0.1" if AIOHTTP_NAMES_THE_PEER else "from "
    assert where in lines[0] and len(lines[0]) < 300
    assert (
        "Traceback" not in lines[0]
        and "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" not in lines[0]
    )


async def test_a_client_that_does_not_finish_its_headers_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connections, "HEADER_SECONDS", 0.2)
    runner, port = await serving()
    try:
        answer = await exchange(port, b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
        assert answer == b""  # closed, nothing owed
        healthy = await exchange(
            port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert status(healthy) == 200
    finally:
        await runner.cleanup()


async def test_a_client_that_does_not_finish_its_body_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connections, "BODY_SECONDS", 0.2)
    runner, port = await serving()
    head = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart"
    try:
        assert await exchange(port, head) == b""
    finally:
        await runner.cleanup()


async def test_at_the_cap_the_oldest_idle_connection_makes_room_first() -> None:
    runner, port = await serving(cap=2)
    opened = []
    try:
        for _ in range(2):  # two kept-alive connections, each answered once: idle
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"}")
            opened.append((reader, writer))
        answer = await exchange(
            port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert status(answer) == 200
        (first, _), (second, _) = opened
        assert await asyncio.wait_for(first.read(), 5) == b""  # the oldest idle one was closed
        assert not second.at_eof()
    finally:
        for _, writer in opened:
            writer.close()
        await runner.cleanup()


async def test_with_a_metrics_port_health_and_metrics_leave_port() -> None:
    metrics_port = free_port()
    runner, port = await serving(metrics_port=metrics_port)
    try:
        for path in (b"/healthz", b"/metrics"):
            request = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            assert status(await exchange(port, request)) == 404
            assert status(await exchange(metrics_port, request)) == 200
        slack = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        slack += b"Connection: close\r\n\r\n"
        assert status(await exchange(port, slack)) == 401  # unsigned
        assert status(await exchange(metrics_port, slack)) == 404
    finally:
        await runner.cleanup()


def test_the_cap_leaves_room_below_the_open_files_limit() -> None:
    assert connection_cap(None, 256) == 160  # 96 left for the database, the PBX and Slack
    assert connection_cap(None, 1024) == 768  # a quarter left
    assert connection_cap(5000, 1024) == 768  # a setting cannot spend the reserve
    assert connection_cap(50, 1024) == 50
    assert connection_cap(None, 20) == connections.FEWEST_CONNECTIONS
    assert connection_cap(None, None) == connections.MOST_CONNECTIONS


async def test_a_thousand_drops_and_accept_failures_are_two_lines_not_a_thousand(
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = connections.Report(cap=160)
    with caplog.at_level(logging.WARNING, logger="bot.slack.connections"):
        for _ in range(500):
            report.note("files")
            report.note("headers")
        report.close()  # what stopping the server flushes
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("accept() failed 1 time(s) for want of file descriptors")
    assert lines[1].startswith(
        "HTTP connections dropped: 500 without complete request headers after 5s; "
        "accept() failed 499 time(s) for want of file descriptors (at most 160 open connections"
    )
    assert all("Traceback" not in line for line in caplog.text.splitlines())


#: Whether this aiohttp's server error log carries the client's address (3.10 and later).
AIOHTTP_NAMES_THE_PEER = tuple(int(part) for part in aiohttp.__version__.split(".")[:3]) >= (
    3,
    11,
    12,
)
