"""httpx's transport over aiohttp's connection pool: the PBX client keeps httpx's API.

httpx's own transport (httpcore on anyio) costs about 1.1 ms of CPU per call with a burst's
hundreds in flight, a third of what the bot spends on a whole dial; aiohttp, which the bot
already runs for Slack, about 0.55 ms (BENCHMARKS.md, issue 16). httpx still builds the
request and reads the answer, and a test still swaps in `httpx.MockTransport`.

aiohttp's errors become httpx's so the client can tell a call that never left this process
from one that may have reached the PBX: only a failure to connect (refused, unreachable, a
TLS handshake refused, no connection in time) is ConnectError or ConnectTimeout, which the
client retries. Anything after the connection was made may have rung a phone, and is never
sent twice.
"""

from __future__ import annotations

import select
import ssl
import urllib.request
import weakref
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import aiohttp
import httpx

T = TypeVar("T")

#: aiohttp's errors, most specific first, and the httpx error each one is raised as.
ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # no connection in time: not sent
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, unreachable, TLS: not sent
    (aiohttp.ClientHttpProxyError, httpx.ConnectError),  # the proxy refused the tunnel: not sent
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),  # not a URL we can send to: not sent
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),  # connected, then no answer in time
    (aiohttp.ClientPayloadError, httpx.ReadError),  # the answer broke off
    (aiohttp.ClientError, httpx.RemoteProtocolError),  # disconnected, reset, not HTTP
    (OSError, httpx.ReadError),
)


def httpx_error(error: BaseException, request: httpx.Request) -> httpx.TransportError | None:
    """The httpx error an aiohttp (or socket) error stands for; None for anything else."""
    for raised, meaning in ERRORS:
        if isinstance(error, raised):
            return meaning(f"{type(error).__name__}: {error}", request=request)
    return None


async def _as_httpx(awaitable: Awaitable[T], request: httpx.Request) -> T:
    """Await it, raising aiohttp's errors as httpx's (see ERRORS).

    An error about an answer (ClientResponseError) holds the request's headers, the API key
    among them, in its repr: it is not chained to the httpx error, nor left as its context.
    The others (an OSError and its errno, which `check` words for the operator) are its cause.
    """
    try:
        return await awaitable
    except Exception as error:
        failure = httpx_error(error, request)
        if failure is None:
            raise
        cause = None if isinstance(error, aiohttp.ClientResponseError) else error
    raise failure from cause


def environment_proxy(url: httpx.URL) -> str | None:
    """The proxy the environment names for this URL (HTTPS_PROXY, ALL_PROXY, NO_PROXY…), as
    httpx reads them; UnsupportedProtocol for one that is not an http:// or https:// proxy."""
    proxies = urllib.request.getproxies_environment()
    named = proxies.get(url.scheme) or proxies.get("all")
    if not named or urllib.request.proxy_bypass_environment(url.host):
        return None
    if "://" not in named:
        named = f"http://{named}"  # as httpx does for "proxy.example:3128"
    if named.split("://", 1)[0].lower() not in ("http", "https"):
        # Never the value: it may hold a password.
        raise httpx.UnsupportedProtocol(
            f"the proxy the environment names for {url.scheme}:// is not an http(s):// proxy"
        )
    return named


def _closed_by_peer(connection: aiohttp.connector.Connection) -> bool:
    """Whether an idle connection has something to read: the PBX closed it (or it is broken)."""
    transport = connection.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return True
    poll = select.poll()
    poll.register(sock.fileno(), select.POLLIN)
    return bool(poll.poll(0))


class _LiveConnections(aiohttp.TCPConnector):
    """A TCPConnector that never sends on a kept-alive connection the PBX has already closed.

    aiohttp learns of a close when its event loop next reads the socket; a request made before
    then would be written to a dead connection and fail as "may have rung" (it is not safe to
    send again). As httpcore does, a reused connection is first checked for a pending close,
    and discarded if it has one. A new connection is not checked.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._used: weakref.WeakSet[Any] = weakref.WeakSet()

    async def connect(self, req: Any, traces: Any, timeout: Any) -> aiohttp.connector.Connection:
        """A connection from the pool that is still open, or a new one."""
        while True:
            connection = await super().connect(req, traces, timeout)
            protocol = connection.protocol
            if protocol not in self._used or not _closed_by_peer(connection):
                if protocol is not None:
                    self._used.add(protocol)
                return connection
            connection.close()


class _Body(httpx.AsyncByteStream):
    """An aiohttp response's body as httpx reads it; closing it frees the connection."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._response.content.iter_any()
        while (chunk := await _as_httpx(anext(chunks, None), self._request)) is not None:
            yield chunk

    async def aclose(self) -> None:
        self._response.release()  # kept alive when read to the end, else closed


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests on one aiohttp session (opened on first use, in the running loop).

    It holds at most `max_connections` connections and keeps idle ones for
    `keepalive_expiry` seconds. A proxy named in the environment is used as httpx would, read
    once per host (environment_proxy): aiohttp's own trust_env would read ~/.netrc and the
    environment again, on a thread, for every request.
    """

    def __init__(
        self, *, max_connections: int, keepalive_expiry: float, ssl_context: ssl.SSLContext
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    def _opened(self) -> aiohttp.ClientSession:
        """The session, made on the first request (aiohttp wants a running loop)."""
        if self._session is None:
            connector = _LiveConnections(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
                ssl=self._ssl_context,
            )
            # httpx decodes the body by its Content-Encoding, as with its own transport.
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    def _proxy(self, url: httpx.URL) -> str | None:
        """The environment's proxy for this URL's scheme and host, looked up once."""
        key = (url.scheme, url.host)
        if key not in self._proxies:
            self._proxies[key] = environment_proxy(url)
        return self._proxies[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request; answer with its status and headers, the body still to read."""
        timeout = request.extensions.get("timeout", {})
        sending = self._opened().request(
            request.method,
            str(request.url),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
            data=request.content or None,
            allow_redirects=False,
            proxy=self._proxy(request.url),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=timeout.get("connect"), sock_read=timeout.get("read")
            ),
        )
        response = await _as_httpx(sending, request)
        version = (
            f"HTTP/{response.version.major}.{response.version.minor}"
            if response.version
            else "HTTP/1.1"
        )
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": version.encode()},
        )

    async def aclose(self) -> None:
        """Close every connection."""
        if self._session is not None:
            await self._session.close()
