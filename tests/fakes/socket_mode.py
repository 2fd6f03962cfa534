"""A loopback fake of Slack's Socket Mode WebSocket server (see SLACK-WIRE.md).

An aiohttp server on 127.0.0.1 running its own event loop in a background thread; tests
drive it synchronously. Give ``fake_socket.url`` to ``FakeSlack.socket_mode_url`` so the app's
``apps.connections.open`` call hands it out.

Reconnect timing with slack_sdk's aiohttp ``SocketModeClient`` (what Bolt's
``AsyncSocketModeHandler`` uses; its ``ping_interval`` defaults to 10 s there):

* ``send_disconnect()`` and ``drop(graceful=True)`` (a WebSocket close frame) make the client
  call ``apps.connections.open`` and reconnect at once (milliseconds).
* ``drop()`` (default: TCP connection aborted, no close frame, like a network failure) is only
  noticed by the client's session monitor, which wakes every ``ping_interval`` seconds: expect
  a reconnect after roughly 1-2 x ``ping_interval``. Tests pass a small ``ping_interval``.

Like Slack with several connections open (two processes during an upgrade), ``spread = True``
sends envelopes round-robin over every live connection, and ``redeliver = True`` resends an
envelope that was not acked when its connection closed to another connection (same
``envelope_id``, ``retry_attempt`` one higher).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

HELLO: dict[str, Any] = {
    "type": "hello",
    "num_connections": 1,
    "connection_info": {"app_id": "A111"},
    "debug_info": {"host": "applink-fake"},
}


@dataclass(eq=False)
class _Connection:
    number: int
    ws: web.WebSocketResponse
    request: web.Request
    #: Closed, and what it left unacked handed over (an envelope sent to it now goes elsewhere).
    gone: bool = False


class FakeSocketMode:
    """A fake Socket Mode server: sends hello and envelopes, records acks and their latency."""

    def __init__(self) -> None:
        """Prepare the fake; call start() (or use it as a context manager) to serve."""
        self.url = ""
        self.connections = 0
        self.received: list[dict[str, Any]] = []
        self._live: list[_Connection] = []
        self._sent: dict[str, dict[str, Any]] = {}
        self._sent_at: dict[str, float] = {}
        self._last_sent_at: dict[str, float] = {}
        self._acks: dict[str, dict[str, Any]] = {}
        self._every_ack: dict[str, list[dict[str, Any]]] = {}
        self._acked_at: dict[str, float] = {}
        #: Send envelopes round-robin over every live connection (else to the newest).
        self.spread = False
        #: Resend envelopes left unacked by a connection that closed, to another connection.
        self.redeliver = False
        self.redelivered: list[str] = []
        self._next = 0
        self._sent_on: dict[str, _Connection] = {}
        self._undelivered: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSocketMode:
        """Bind a free port and serve from a background thread's event loop."""
        if self._loop is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/link"
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"FakeSocketMode:{port}", daemon=True
        )
        self._thread.start()
        self._run(self._serve(sock), timeout=10)
        return self

    def stop(self) -> None:
        """Close every connection (going away), stop the server and its thread."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
                self._thread = None
            loop.close()

    def __enter__(self) -> FakeSocketMode:
        """Start and return the fake."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the fake."""
        self.stop()

    # ------------------------------------------------------------------ test API

    def wait_connected(self, timeout: float = 10.0, *, min_connections: int = 1) -> None:
        """Block until a live connection (hello sent) exists and `min_connections` were made."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._live and self.connections >= min_connections):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no live Socket Mode connection within {timeout}s "
                        f"(connections so far: {self.connections}, live: {len(self._live)}, "
                        f"wanted at least {min_connections})"
                    )
                self._cond.wait(remaining)

    def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = True,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send an envelope to the newest live connection (waiting up to 5 s for one).

        An Events API retry is a new envelope carrying the same payload (the same event_id)
        with `retry_attempt` counting up and a `retry_reason` such as "timeout"; give an earlier
        `envelope_id` too to redeliver the very envelope, as Slack does after a lost ack.
        """
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        self.send_raw(envelope)
        return envelope_id

    def send_raw(self, message: dict[str, Any]) -> None:
        """Send any JSON message to a live connection (recording envelope send time)."""
        self.wait_connected(timeout=5.0)
        with self._cond:
            conn = self._pick()
        self._run(self._send(conn, message), timeout=5)

    def sent(self, envelope_id: str) -> dict[str, Any]:
        """The envelope as last sent (a redelivery has a higher retry_attempt)."""
        with self._cond:
            return self._sent[envelope_id]

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Return the ack {"envelope_id", optional "payload"}; AssertionError if none in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self._acks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no ack for envelope {envelope_id} within {timeout}s; "
                        f"messages received: {self.received!r}"
                    )
                self._cond.wait(remaining)
            return self._acks[envelope_id]

    def wait_acks(self, envelope_id: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every ack of an envelope sent more than once, once there are `count` of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._every_ack.get(envelope_id, [])) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"envelope {envelope_id} acked {len(self._every_ack.get(envelope_id, []))}"
                        f" time(s) within {timeout}s, wanted {count}"
                    )
                self._cond.wait(remaining)
            return list(self._every_ack[envelope_id])

    def ack_latency(self, envelope_id: str) -> float | None:
        """Return seconds from sending the envelope to receiving its ack, or None if not acked."""
        with self._cond:
            if envelope_id not in self._acked_at or envelope_id not in self._sent_at:
                return None
            return self._acked_at[envelope_id] - self._sent_at[envelope_id]

    def delivery_latency(self, envelope_id: str) -> float | None:
        """Seconds from the envelope's last delivery to its ack (a redelivery is timed anew).

        Slack times each delivery: a connection that closed without acking is not the
        redelivery's fault. None if the envelope was not acked.
        """
        with self._cond:
            if envelope_id not in self._acked_at or envelope_id not in self._last_sent_at:
                return None
            return self._acked_at[envelope_id] - self._last_sent_at[envelope_id]

    def drop(self, *, graceful: bool = False) -> None:
        """Cut the newest live connection: abort TCP (default) or send a close frame."""
        with self._cond:
            if not self._live:
                raise AssertionError("drop(): no live Socket Mode connection")
            conn = self._live.pop()
            self._cond.notify_all()
        self._run(self._drop(conn, graceful), timeout=5)

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send {"type": "disconnect", "reason": reason}; the client should reconnect."""
        self.send_raw({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})

    @property
    def live_connections(self) -> int:
        """Return how many connections are open right now."""
        with self._cond:
            return len(self._live)

    # ------------------------------------------------------------------ event loop side

    def _run(self, coro: Any, timeout: float) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("FakeSocketMode is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=timeout)

    async def _serve(self, sock: socket.socket) -> None:
        app = web.Application()
        app.router.add_get("/link", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        with self._cond:
            live, self._live = list(self._live), []
        for conn in live:
            await conn.ws.close(code=1001, message=b"going away")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _pick(self) -> _Connection:
        """The connection for the next message (call with the condition held)."""
        if not self.spread:
            return self._live[-1]
        self._next += 1
        return self._live[self._next % len(self._live)]

    async def _send(self, conn: _Connection, message: dict[str, Any]) -> None:
        envelope_id = message.get("envelope_id")
        if envelope_id is not None:
            with self._cond:
                if conn.gone and self.redeliver:  # it closed while this was on its way
                    self._undelivered.append(message)
                    envelope_id = None
                else:
                    now = time.perf_counter()
                    self._sent[envelope_id] = message
                    self._sent_at.setdefault(envelope_id, now)  # the first send
                    self._last_sent_at[envelope_id] = now
                    self._sent_on[envelope_id] = conn
            if envelope_id is None:
                await self._redeliver(conn)
                return
        try:
            await conn.ws.send_str(json.dumps(message))
        except (ConnectionError, RuntimeError):
            if not self.redeliver:
                raise  # with redelivery on, the close hands it to another connection

    async def _redeliver(self, closed: _Connection) -> None:
        """Resend what `closed` left unacked to another live connection, as Slack does."""
        with self._cond:
            closed.gone = closed not in self._live
            unacked = [
                self._sent[envelope_id]
                for envelope_id, conn in self._sent_on.items()
                if conn is closed and closed.gone and envelope_id not in self._acks
            ]
            for envelope in unacked:
                del self._sent_on[envelope["envelope_id"]]  # handed over once
            self._undelivered.extend(unacked)
            if not self._live:
                return  # sent when a connection opens
            waiting, self._undelivered = self._undelivered, []
        for envelope in waiting:
            retry = {**envelope, "retry_attempt": envelope["retry_attempt"] + 1}
            retry["retry_reason"] = "timeout"
            with self._cond:
                if not self._live:
                    self._undelivered.append(envelope)
                    continue
                conn = self._pick()
                self.redelivered.append(envelope["envelope_id"])
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._send(conn, retry)

    async def _drop(self, conn: _Connection, graceful: bool) -> None:
        if graceful:
            await conn.ws.close(code=1001, message=b"dropped")
            return
        transport = conn.request.transport
        if transport is not None:
            transport.abort()

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._cond:
            self.connections += 1
            conn = _Connection(self.connections, ws, request)
        await ws.send_str(json.dumps(HELLO))
        with self._cond:
            self._live.append(conn)
            self._cond.notify_all()
            waiting = bool(self._undelivered)
        if waiting and self.redeliver:
            await self._redeliver(conn)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self._record(msg.data)
        finally:
            with self._cond:
                if conn in self._live:
                    self._live.remove(conn)
                self._cond.notify_all()
            if self.redeliver:
                await self._redeliver(conn)
        return ws

    def _record(self, data: str) -> None:
        now = time.perf_counter()
        try:
            message = json.loads(data)
        except ValueError:
            message = {"_raw": data}
        if not isinstance(message, dict):
            message = {"_raw": message}
        with self._cond:
            self.received.append(message)
            envelope_id = message.get("envelope_id")
            if envelope_id is not None and envelope_id not in self._acks:
                self._acks[envelope_id] = message
                self._acked_at[envelope_id] = now
            if envelope_id is not None:
                self._every_ack.setdefault(envelope_id, []).append(message)
            self._cond.notify_all()
