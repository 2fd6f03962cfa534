"""A loopback TCP proxy that can switch backends, like a load balancer during an upgrade.

Each client connection is piped to the backend that was current when it was accepted;
`switch(port)` sends new connections elsewhere while open ones finish where they started.
It runs its own event loop in a background thread; tests drive it synchronously:

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

    def start(self) -> SwitchingProxy:
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

    def __enter__(self) -> SwitchingProxy:
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

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        with self._lock:
            backend = self.backend
            self.connections[backend] = self.connections.get(backend, 0) + 1
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            with self._lock:
                self.failures += 1
            client_w.close()
            return
        try:
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        finally:
            for writer in (server_w, client_w):
                with contextlib.suppress(ConnectionError, OSError):
                    writer.close()


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
