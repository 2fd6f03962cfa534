"""Bounded HTTP serving: read timeouts, a cap on open connections, and quiet shedding.

aiohttp's server closes idle keep-alive connections but has no header or body read timeout and
no limit on open connections: clients that send part of a request and stall hold a file
descriptor each until the process runs out, and then asyncio logs a traceback for every
failed accept(). This module bounds that, without touching aiohttp's request handling:

- `GuardedSite` is a `web.BaseSite` (so `AppRunner` starts and stops it like any site) that
  accepts connections itself, one at a time, and only when there is room: asyncio's own
  server accepts a whole backlog in one go before any protocol sees a connection, so a burst
  could take every file descriptor before a cap could act.
- Each accepted connection's protocol is a `Connection` that wraps the aiohttp
  `RequestHandler` the server would have used and forwards every call to it; the wrapper only
  watches when bytes arrive. (aiohttp has no hook for "bytes arrived" or "connection opened"
  that a `web.Server` or `RequestHandler` subclass could use without private attributes, and
  an asyncio protocol wrapper needs none.)
- A middleware marks when a request's headers have arrived (the handler runs) and when it is
  answered; `read_body` marks when its body has arrived.
- A connection that has not sent a request's headers within HEADER_SECONDS of opening (or of
  the first byte of its next request), or its body within BODY_SECONDS of its headers, is
  dropped. Idle keep-alive connections are left to aiohttp's keep-alive timeout.
- At the cap, the next connection is accepted only once there is room: the oldest idle one is
  dropped first, then the one that has waited longest for its headers, then the slowest body.
  A connection whose request is being handled (a Slack request being acked) is never dropped;
  while every one is, new connections wait in the listen backlog.
- Drops, and accept() failing for want of file descriptors (EMFILE/ENFILE: something else in
  the process holds them), are counted and logged as one line at most every REPORT_SECONDS,
  never a traceback per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import socket
from collections import Counter
from collections.abc import Callable, Collection
from enum import IntEnum
from functools import partial
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

#: A client has this long to send a request's headers, from connecting or from its first byte.
HEADER_SECONDS = 5.0
#: A client has this long to send a request's body, from the end of its headers.
BODY_SECONDS = 10.0
#: At most one log line about dropped connections or exhausted file descriptors this often.
REPORT_SECONDS = 60.0
#: File descriptors left for everything but inbound connections when the cap is sized from the
#: open-files limit: the database, the PBX connection pool, Slack's clients, the log, the
#: listening sockets. At least this many, or a quarter of the limit when that is more.
RESERVED_FILES = 96
#: The cap is never sized below this, however low the open-files limit.
FEWEST_CONNECTIONS = 16
#: With no open-files limit, and no DIALER_MAX_CONNECTIONS, this many at most.
MOST_CONNECTIONS = 10_000
#: After accept() fails for want of file descriptors, try again this much later.
ACCEPT_RETRY_SECONDS = 0.5
#: At most this many waiting clients are accepted in one turn of the event loop (asyncio's own
#: server takes its backlog, 100 by default, per turn).
ACCEPT_BATCH = 100
OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
CLIENT_GONE = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EINTR, errno.EAGAIN})


class Phase(IntEnum):
    """Where a connection is; the lower, the sooner it is dropped to make room."""

    IDLE = 0  # answered its last request; waiting for the next one (keep-alive)
    HEADERS = 1  # opened, or sent the first bytes of a request; headers not complete
    BODY = 2  # headers complete, the handler runs; the body may still be on its way
    HANDLING = 3  # the whole request is here and being answered: never dropped


#: Why connections were dropped, as the report line words each count.
REASONS = {
    "headers": f"without complete request headers after {HEADER_SECONDS:g}s",
    "body": f"without a complete body after {BODY_SECONDS:g}s",
    "gone": "ended by the client in the middle of a request",
    "idle": "idle, to make room",
    "slow": "slow to send a request, to make room",
}


def open_files_limit() -> int | None:
    """The process's soft limit on open files, or None when there is none."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def connection_cap(configured: int | None, files: int | None) -> int:
    """How many connections to keep open: the configured number, within the open-files limit."""
    if files is None:
        return configured or MOST_CONNECTIONS
    room = max(FEWEST_CONNECTIONS, files - max(RESERVED_FILES, files // 4))
    return min(configured, room) if configured else min(room, MOST_CONNECTIONS)


class Report:
    """Counts dropped connections by reason; one WARNING line per REPORT_SECONDS at most."""

    def __init__(self, cap: int, interval: float = REPORT_SECONDS) -> None:
        self.cap = cap
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self.files: int | None = open_files_limit()
        self._next_at = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def note(self, reason: str) -> None:
        """Count one event; log now if the last line is old enough, else soon after."""
        self.counts[reason] += 1
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() >= self._next_at:
            self.flush()
        else:
            self._timer = loop.call_at(self._next_at, self.flush)

    def flush(self) -> None:
        """Log what was counted since the last line, in one line."""
        self._timer = None
        if not self.counts:
            return
        files = self.counts.pop("files", 0)
        parts = [f"{count} {REASONS[reason]}" for reason, count in sorted(self.counts.items())]
        said = [f"HTTP connections dropped: {'; '.join(parts)}"] if parts else []
        if files:
            said.append(f"accept() failed {files} time(s) for want of file descriptors")
        limit = "no open-files limit" if self.files is None else f"open-files limit {self.files}"
        log.warning(
            "%s (at most %d open connections, %s; next report in %gs at the earliest)",
            "; ".join(said),
            self.cap,
            limit,
            self.interval,
        )
        self.counts.clear()
        self._next_at = asyncio.get_running_loop().time() + self.interval

    def close(self) -> None:
        """Log what is still counted and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
        self.flush()


class Connection(asyncio.Protocol):
    """One accepted connection: forwards everything to aiohttp's handler, and times the client."""

    def __init__(
        self, guard: ConnectionGuard, inner: RequestHandler, paths: Collection[str] | None
    ) -> None:
        self.guard = guard
        self.inner = inner
        self.paths = paths
        self.phase = Phase.HEADERS
        self.since = 0.0
        self.dropped = False
        self.transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None

    # --- what asyncio calls: forwarded to aiohttp's RequestHandler --------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Count the connection (making room at the cap) and start its header clock."""
        self.transport = transport  # type: ignore[assignment]
        self.inner.connection_made(transport)
        self._enter(Phase.HEADERS, HEADER_SECONDS, "headers")
        self.guard.opened(self)

    def data_received(self, data: bytes) -> None:
        """The first bytes after an answered request start the next request's header clock."""
        if self.phase is Phase.IDLE:
            self._enter(Phase.HEADERS, HEADER_SECONDS, "headers")
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        """Forwarded."""
        return self.inner.eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        """Forget the connection and its clock."""
        self._stop_clock()
        self.guard.closed(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        """Forwarded."""
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        """Forwarded."""
        self.inner.resume_writing()

    # --- what the middleware and read_body say ------------------------------------------------

    def headers_arrived(self) -> None:
        """The handler runs: the body, if any, has BODY_SECONDS to arrive."""
        self._enter(Phase.BODY, BODY_SECONDS, "body")

    def body_arrived(self) -> None:
        """The whole request is here: it is being answered and is never dropped."""
        self._enter(Phase.HANDLING)

    def answered(self) -> None:
        """The response is written: the connection idles until its next request."""
        self._enter(Phase.IDLE)

    def drop(self, reason: str) -> None:
        """Close the connection at once (nothing is owed to this client) and count why."""
        if self.dropped or self.transport is None:
            return
        self.dropped = True
        self.guard.dropping(self)
        self._stop_clock()
        self.transport.abort()
        self.guard.report.note(reason)

    def _enter(self, phase: Phase, seconds: float | None = None, reason: str = "") -> None:
        """Move to a phase; with `seconds`, drop the connection if it is still there by then."""
        self._stop_clock()
        loop = asyncio.get_running_loop()
        self.phase, self.since = phase, loop.time()
        if phase is not Phase.HANDLING:
            self.guard.wake()
        if seconds is not None:
            self._deadline = loop.call_later(seconds, self._too_slow, phase, reason)

    def _too_slow(self, phase: Phase, reason: str) -> None:
        self._deadline = None
        if self.phase is phase:
            self.drop(reason)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


class ConnectionGuard:
    """Every connection of a server's sites: the cap, shedding, and the one report line."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.report = Report(cap)
        self.open: dict[Connection, None] = {}  # insertion-ordered: oldest first
        self._closing = 0  # dropped, their file descriptor about to be released
        self._connecting: set[asyncio.Task] = set()  # accepted, their protocol not yet made
        self._room = asyncio.Event()

    def protocol_factory(
        self, server: web.Server, paths: Collection[str] | None
    ) -> Callable[[], Connection]:
        """What a listening socket makes for each accepted connection."""
        return lambda: Connection(self, server(), paths)

    @property
    def full(self) -> bool:
        """Whether the connections open or opening (not being dropped) fill the cap."""
        return len(self.open) + len(self._connecting) - self._closing >= self.cap

    async def make_room(self) -> None:
        """Return once one more connection fits: drop the oldest idle or slowest one if needed."""
        while self.full:
            victim = self._victim()
            if victim is not None:
                victim.drop("idle" if victim.phase is Phase.IDLE else "slow")
                continue
            self._room.clear()  # every connection is being answered: wait for one to end
            await self._room.wait()

    def opened(self, connection: Connection) -> None:
        """Count a new connection."""
        self.open[connection] = None

    def dropping(self, connection: Connection) -> None:
        """A connection was dropped: it no longer counts against the cap."""
        if connection in self.open:
            self._closing += 1

    def closed(self, connection: Connection) -> None:
        """Forget a connection that ended."""
        if connection in self.open:
            del self.open[connection]
            if connection.dropped:
                self._closing -= 1
        self.wake()

    def wake(self) -> None:
        """A connection ended or can be dropped again: look for room."""
        self._room.set()

    def _victim(self) -> Connection | None:
        """The connection to drop to make room: idle, then waiting for headers, then body."""
        candidates = [c for c in self.open if c.phase < Phase.HANDLING and not c.dropped]
        return min(candidates, key=lambda c: (c.phase, c.since), default=None)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Mark when a request's headers arrive and when it is answered; keep a site's paths."""
        connection = connection_of(request)
        if connection is None:  # not served through a GuardedSite (tests build apps directly)
            return await handler(request)
        connection.headers_arrived()
        try:
            if connection.paths is not None and request.path not in connection.paths:
                raise web.HTTPNotFound()
            return await handler(request)
        finally:
            connection.answered()

    async def accept_forever(
        self, listening: socket.socket, factory: Callable[[], Connection]
    ) -> None:
        """Accept connections on a listening socket while there is room.

        Every client already waiting is accepted in one go, as asyncio's own server does: one
        accept per turn of the event loop would let a burst wait in the backlog behind every
        request already being handled, each turn.
        """
        loop = asyncio.get_running_loop()
        while True:
            await readable(listening)
            if self.full:  # make room only for a client that is actually waiting
                await self.make_room()
            for _ in range(ACCEPT_BATCH):
                if self.full:
                    break
                try:
                    accepted, _ = listening.accept()
                except BlockingIOError:
                    break  # nobody else is waiting
                except OSError as error:
                    if error.errno in CLIENT_GONE:  # the client left before it was accepted
                        continue
                    if error.errno in OUT_OF_FILES:
                        self.report.note("files")
                    else:
                        log.warning(
                            "could not accept a connection: %s", os.strerror(error.errno or 0)
                        )
                    await asyncio.sleep(ACCEPT_RETRY_SECONDS)  # never busy on the same error
                    break
                self._connect(loop, factory, accepted)

    def _connect(
        self,
        loop: asyncio.AbstractEventLoop,
        factory: Callable[[], Connection],
        accepted: socket.socket,
    ) -> None:
        """Hand an accepted socket to asyncio; it counts against the cap from now on."""
        accepted.setblocking(False)
        task = loop.create_task(loop.connect_accepted_socket(factory, accepted))
        self._connecting.add(task)
        task.add_done_callback(partial(self._connected, accepted))

    def _connected(self, accepted: socket.socket, task: asyncio.Task) -> None:
        self._connecting.discard(task)
        if task.cancelled() or task.exception() is not None:  # the client is already gone
            accepted.close()


def connection_of(request: web.BaseRequest) -> Connection | None:
    """The guarded connection a request came on, or None when it was not served through one."""
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    return protocol if isinstance(protocol, Connection) else None


class ClientGone(Exception):
    """The client went away, or was dropped for being too slow, before its body arrived."""


async def read_body(request: web.Request) -> bytes:
    """The request's body; ClientGone if the connection ended first (counted, never logged)."""
    connection = connection_of(request)
    try:
        raw = await request.read()
    except ConnectionError:
        if connection is not None and not connection.dropped:
            connection.guard.report.note("gone")
        raise ClientGone() from None
    if connection is not None:
        connection.body_arrived()
    return raw


async def readable(listening: socket.socket) -> None:
    """Wait until a client is waiting to be accepted on a listening socket."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(listening.fileno(), lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(listening.fileno())


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard, serving only `paths`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        guard: ConnectionGuard,
        host: str,
        port: int,
        *,
        paths: Collection[str] | None = None,
        backlog: int = 1024,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._guard = guard
        self._host = host
        self._port = port
        self._paths = paths
        self._accepting: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The site's URL, as aiohttp's sites name themselves."""
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        """Listen on host:port and accept through the guard; OSError when it can't be bound."""
        await super().start()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        listening = await listen(self._host, self._port, self._backlog)
        factory = self._guard.protocol_factory(server, self._paths)
        # An asyncio Server that owns the socket but never accepts on it: aiohttp closes it
        # and reads its address as for its own sites; the guard does the accepting.
        self._server = await loop.create_server(factory, sock=listening, start_serving=False)
        self._accepting = loop.create_task(self._guard.accept_forever(listening, factory))

    async def stop(self) -> None:
        """Stop accepting; aiohttp then closes the socket and the connections, as for any site."""
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        await super().stop()


async def listen(host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket on host:port (SO_REUSEADDR, as aiohttp's sites)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    listening = socket.socket(family, kind, proto)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            listening.bind(address)
        except OSError as error:
            raise OSError(error.errno, f"{(error.strerror or str(error)).lower()}") from None
        listening.listen(backlog)
        listening.setblocking(False)
    except BaseException:
        listening.close()
        raise
    return listening
