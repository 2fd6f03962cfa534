"""Loopback TCP proxies that stand in for a load balancer: switching, and round-robin.

`SwitchingProxy`: each client connection is piped to the backend that was current when it was
accepted; `switch(port)` sends new connections elsewhere while open ones finish where they
started (an upgrade behind a load balancer). `RoundRobinProxy`: each new connection goes to the
next of several backends (replicas); one that refuses the connection (a killed replica) is
skipped for the next, as a load balancer's passive health check does, and `add`/`remove` change
the pool (a rolling restart). Both run their own event loop in a background thread; tests drive
them synchronously:

    with SwitchingProxy(old_port) as proxy:
        ...  # send requests to proxy.port
        proxy.switch(new_port)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from types import TracebackType
from typing import Self


class SwitchingProxy:
    """Forward 127.0.0.1:port to 127.0.0.1:backend, counting connections per backend."""

    def __init__(self, backend: int) -> None:
        self.backend = backend
        self.port = 0
        #: How many client connections went to each backend port.
        self.connections: dict[int, int] = {}
        self.failures = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Listen on a free loopback port and forward from a background thread."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="proxy", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(sock), loop).result(timeout=5)
        return self

    def switch(self, backend: int) -> None:
        """Send connections accepted from now on to `backend`."""
        with self._lock:
            self.backend = backend

    def stop(self) -> None:
        """Stop listening and the thread; connections still open are cut."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Where Slack would send requests, through the proxy."""
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def _serve(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._handle, sock=sock, backlog=512)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

    async def _connect(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Open the backend connection for a new client (None: no backend would take it)."""
        with self._lock:
            backend = self.backend
            self.connections[backend] = self.connections.get(backend, 0) + 1
        try:
            return await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            with self._lock:
                self.failures += 1
            return None

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        opened = await self._connect()
        if opened is None:
            client_w.close()
            return
        server_r, server_w = opened
        upstream = asyncio.ensure_future(_pipe(client_r, server_w))
        try:
            # The exchange is over when the backend ends its side, cleanly or not (a killed
            # backend resets the connection): the client then sees the connection close.
            await _pipe(server_r, client_w)
            await asyncio.wait([upstream], timeout=1.0)
        finally:
            upstream.cancel()
            for writer in (server_w, client_w):
                with contextlib.suppress(ConnectionError, OSError):
                    writer.close()


class RoundRobinProxy(SwitchingProxy):
    """Spread connections over several backends in turn, skipping those that refuse them."""

    def __init__(self, backends: list[int]) -> None:
        super().__init__(backends[0] if backends else 0)
        self.backends = list(backends)
        self._turn = 0
        #: Connections a backend refused (it was down), by port; each was tried on the next.
        self.refused: dict[int, int] = {}

    def add(self, backend: int) -> None:
        """Put a (new, ready) backend into the rotation."""
        with self._lock:
            if backend not in self.backends:
                self.backends.append(backend)

    def remove(self, backend: int) -> None:
        """Take a backend out of the rotation (it is about to stop): open connections finish."""
        with self._lock:
            if backend in self.backends:
                self.backends.remove(backend)

    def switch(self, backend: int) -> None:
        """Send every new connection to `backend` alone."""
        with self._lock:
            self.backends = [backend]

    def _order(self) -> list[int]:
        """The backends to try for the next connection: its turn's first, then the rest."""
        with self._lock:
            if not self.backends:
                return []
            self._turn += 1
            start = self._turn % len(self.backends)
            return self.backends[start:] + self.backends[:start]

    async def _connect(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for backend in self._order():
            try:
                opened = await asyncio.open_connection("127.0.0.1", backend)
            except OSError:
                with self._lock:
                    self.refused[backend] = self.refused.get(backend, 0) + 1
                continue
            with self._lock:
                self.connections[backend] = self.connections.get(backend, 0) + 1
            return opened
        with self._lock:
            self.failures += 1
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until EOF, then pass the EOF on (a half-close)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass
