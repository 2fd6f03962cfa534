"""The PBX client's aiohttp transport over real loopback sockets: what was sent, and what not.

A failure before the connection was made is "not sent" and is retried; anything after it may
have rung a phone, so the request is never sent twice.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import httpx
import pytest
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from bot.pbx import PbxError, PbxTimeout, PbxUnreachable, WebFonesClient
from bot.pbx.transport import httpx_error
from tests.fakes.pbx import FakePbx

KEY = "wf-TRANSPORT-0c1d-SECRET"
SUCCESS = json.dumps({"status": "200", "message": "Success"}).encode()
PROXY_VARIABLES = [
    name
    for scheme in ("http", "https", "all", "no")
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY")
]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A loopback TCP server that hands each connection to `handler` and keeps what it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0
        self.handling: set[asyncio.Task] = set()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        """One HTTP request's head and body (by Content-Length), recorded."""
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        request = head + await reader.readexactly(length)
        self.requests.append(request)
        return request

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.handling.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[RawServer]]]:
    """Start RawServers on free ports; close them after the test."""
    servers: list[tuple[asyncio.Server, RawServer]] = []

    async def start(handler: Handler) -> RawServer:
        raw = RawServer(handler)
        server = await asyncio.start_server(raw._serve, "127.0.0.1", 0)
        raw.port = server.sockets[0].getsockname()[1]
        servers.append((server, raw))
        return raw

    yield start
    for server, raw in servers:
        server.close()
        for task in raw.handling:
            task.cancel()
        await asyncio.gather(*raw.handling, return_exceptions=True)
        await server.wait_closed()


def answer(body: bytes, *, status: str = "200 OK", headers: str = "") -> bytes:
    """An HTTP/1.1 answer with a JSON body."""
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_nothing_listening_is_not_sent_and_is_tried_again() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with WebFonesClient(url, KEY, connect_retries=2, retry_backoff=0.01) as client:
        with pytest.raises(PbxUnreachable) as caught:
            await client.place_call("309", "15808675309")
    assert caught.value.sent is False
    assert "after 3 attempt(s)" in str(caught.value)
    assert KEY not in repr(caught.value) and KEY not in caught.value.detail


async def test_a_connection_closed_after_the_request_may_have_rung_and_is_not_resent(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)

    server = await serve(hang_up)
    url = f"http://127.0.0.1:{server.port}"
    async with WebFonesClient(url, KEY, connect_retries=2, retry_backoff=0.01) as client:
        with pytest.raises(PbxError) as caught:
            await client.place_call("309", "15808675309")
    assert caught.value.sent is True
    assert len(server.requests) == 1
    assert server.requests[0].startswith(b"POST /dialer/call HTTP/1.1\r\n")
    assert f"x-api-key: {KEY}".lower().encode() in server.requests[0].lower()


async def test_no_answer_in_time_may_have_rung_and_is_not_resent(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await asyncio.sleep(5)

    server = await serve(silent)
    url = f"http://127.0.0.1:{server.port}"
    async with WebFonesClient(url, KEY, total_timeout=0.5) as client:
        with pytest.raises(PbxTimeout) as caught:
            await client.place_call("309", "15808675309")
    assert caught.value.sent is True
    assert len(server.requests) == 1


async def test_a_compressed_answer_is_read_and_the_connection_kept(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    """httpx decodes the body by its Content-Encoding; the connection serves the next call."""

    async def gzipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await server.read_request(reader)
            writer.write(answer(gzip.compress(SUCCESS), headers="Content-Encoding: gzip\r\n"))
            await writer.drain()

    server = await serve(gzipped)
    async with WebFonesClient(f"http://127.0.0.1:{server.port}", KEY) as client:
        first = await client.place_call("309", "15808675309")
        second = await client.place_call("309", "16045550143")
    assert (first.status, second.status) == (200, 200)
    assert (len(server.requests), server.connections) == (2, 1)


@pytest.fixture
async def proxy(
    serve: Callable[[Handler], Awaitable[RawServer]], monkeypatch: pytest.MonkeyPatch
) -> RawServer:
    """A loopback HTTP proxy answering Success once per connection; no proxy named yet."""

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(answer(SUCCESS))
        await writer.drain()

    server = await serve(answer_once)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return server


async def test_a_proxy_named_in_the_environment_carries_the_call(
    proxy: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with httpx's own transport: HTTP_PROXY is used, and NO_PROXY is honoured."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    async with WebFonesClient("http://pbx.example.test:2343", KEY) as client:
        placed = await client.place_call("309", "15808675309")
    assert placed.status == 200
    assert proxy.requests[0].startswith(b"POST http://pbx.example.test:2343/dialer/call ")

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with WebFonesClient(url, KEY, connect_retries=0) as client:
        with pytest.raises(PbxUnreachable):  # straight to the (absent) PBX, not the proxy
            await client.place_call("309", "15808675309")
    assert len(proxy.requests) == 1


@pytest.mark.parametrize(
    "named",
    [{"HTTP_PROXY": "127.0.0.1:{port}"}, {"ALL_PROXY": "http://127.0.0.1:{port}"}],
    ids=["no-scheme", "all-proxy"],
)
async def test_a_proxy_is_read_as_httpx_reads_it(
    named: dict[str, str], proxy: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy named as host:port is an http:// one; ALL_PROXY stands for every scheme."""
    for name, value in named.items():
        monkeypatch.setenv(name, value.format(port=proxy.port))
    async with WebFonesClient("http://pbx.example.test:2343", KEY) as client:
        assert (await client.place_call("309", "15808675309")).status == 200
    assert proxy.requests[0].startswith(b"POST http://pbx.example.test:2343/dialer/call ")


async def test_a_socks_proxy_is_refused_unsent_without_repeating_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A SOCKS proxy taken for an HTTP one would get the request, API key and all, in clear."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "socks5://dialer:hunter2@127.0.0.1:1080")
    async with WebFonesClient("https://pbx.example.test", KEY) as client:
        with pytest.raises(PbxUnreachable) as caught:
            await client.place_call("309", "15808675309")
    assert caught.value.sent is False
    assert "not an http(s):// proxy" in caught.value.detail
    assert "hunter2" not in str(caught.value) and "hunter2" not in caught.value.detail


async def test_a_failure_never_carries_the_key_in_its_chain(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    """A ClientResponseError is not chained to the client's error: its repr holds the
    request's headers, and the API key is one of them."""

    async def garbled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 OK-ish\r\n\r\n")
        await writer.drain()

    server = await serve(garbled)
    async with WebFonesClient(f"http://127.0.0.1:{server.port}", KEY) as client:
        with pytest.raises(PbxError) as caught:
            await client.place_call("309", "15808675309")
    assert caught.value.sent is True and len(server.requests) == 1
    error: BaseException | None = caught.value
    while error is not None:
        assert not isinstance(error, aiohttp.ClientResponseError), repr(error)
        assert KEY not in repr(error) and KEY not in str(error)
        error = error.__cause__ or error.__context__


@pytest.mark.parametrize(
    ("error", "meaning"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout),
        (
            aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None),
                ConnectionRefusedError(111, "refused"),
            ),
            httpx.ConnectError,
        ),
        (
            aiohttp.ClientHttpProxyError(
                aiohttp.RequestInfo(
                    yarl.URL("https://pbx.example.test"), "CONNECT", CIMultiDictProxy(CIMultiDict())
                ),
                (),
                status=407,
            ),
            httpx.ConnectError,
        ),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), httpx.ReadError),
        (ConnectionResetError(104, "reset"), httpx.ReadError),
    ],
)
def test_only_failures_to_connect_read_as_not_sent(
    error: BaseException, meaning: type[httpx.TransportError]
) -> None:
    """ConnectError and ConnectTimeout are the client's "not sent, try again"."""
    request = httpx.Request("POST", "https://pbx.example.test/dialer/call")
    assert type(httpx_error(error, request)) is meaning
    assert httpx_error(ValueError("a bug"), request) is None


async def test_a_pbx_restarted_between_two_calls_takes_the_second_on_a_new_connection() -> None:
    """The kept-alive connection died with the old PBX: it is not the one the call goes on.

    The event loop has not run since the restart (as when the close and the next dial arrive
    together), so only a look at the socket itself can tell the connection is closed.
    """
    with FakePbx() as first:
        port = int(first.url.rsplit(":", 1)[1])
        async with WebFonesClient(first.url, first.api_key) as client:
            await client.place_call("309", "15808675309")
            first.stop()
            with FakePbx(port=port) as second:
                time.sleep(0.05)  # the close reaches this side's socket, not yet its loop
                placed = await client.place_call("309", "16045550143")
    assert placed.status == 200
    assert [call.phonenumber for call in second.calls] == ["16045550143"]
