"""A loopback fake of the WebFones Dialer API 3.0, written from its document.

It is a real HTTP/1.1 server on 127.0.0.1 (keep-alive, one daemon thread per connection)
so an app running in another process can dial it. Use it in-process:

    with FakePbx(api_key="k") as pbx:
        ...  # point WEBFONES_BASE_URL at pbx.url, then inspect pbx.calls

or standalone, for benchmarks: `python -m tests.fakes.pbx --port N --key K --latency S`
prints "listening on http://127.0.0.1:N" and serves until killed; `GET /_fake/calls`
returns what it recorded.
"""

import argparse
import contextlib
import hmac
import json
import math
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, Self

CALL_PATH = "/dialer/call"
CALLS_PATH = "/_fake/calls"
MAX_BODY_BYTES = 1024 * 1024

NOT_FOUND = {"error": "Not found"}
KEY_MISSING = {
    "error": "API key is required",
    "message": "Please provide API key in x-api-key header or Authorization header",
}
KEY_INVALID = {
    "error": "Invalid API key",
    "message": "The provided API key is not valid or has been revoked",
}
TOO_MANY = {"error": "Too many requests from this IP, please try again later."}
INVALID_EXTENSION = {"message": "invalid extension"}
INVALID_NUMBER = {"message": "invalid phonenumber"}
METHOD_NOT_ALLOWED = {"error": "Method not allowed"}
SUCCESS = {"status": "200", "message": "Success"}


@dataclass
class RecordedCall:
    """One call the fake accepted: who dialed what, how it authenticated, and when."""

    extension: str
    phonenumber: str
    auth: str
    received_at: float
    path: str


@dataclass(frozen=True)
class _Scripted:
    """A canned answer queued by fail_next."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _Answer:
    """What the handler will send: status, JSON-or-raw body and extra headers."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _json_answer(status: int, payload: dict[str, Any], **headers: str) -> _Answer:
    """An answer with a JSON body, as the real API sends."""
    return _Answer(status, json.dumps(payload).encode(), headers=tuple(headers.items()))


def _encode_scripted(body: str | bytes | dict[str, Any]) -> tuple[bytes, str]:
    """Bytes and a plausible Content-Type for a scripted body."""
    if isinstance(body, dict):
        return json.dumps(body).encode(), "application/json; charset=utf-8"
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    kind = "text/html" if body.lstrip().startswith("<") else "text/plain"
    return body.encode(), f"{kind}; charset=utf-8"


def _field(payload: dict[str, Any], name: str) -> str:
    """A request field as stripped text ('' when missing, null or not a string/number)."""
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


def _parse_payload(raw: bytes) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        payload = json.loads(raw or b"null")
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


class _RateLimiter:
    """Fixed-window per-IP counter, like express-rate-limit: `limit` requests per window."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, ip: str) -> float | None:
        """Count one request; return seconds until the window resets if over the limit."""
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get(ip, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            self._windows[ip] = (start, count + 1)
        return None if count < self.limit else start + self.window - now

    def reset(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a deep accept queue and quiet disconnects."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, pbx: "FakePbx", port: int) -> None:
        self.pbx = pbx
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (timeouts, stop()); report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests the way the WebFones API documents."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeWebFones/3.0"
    timeout = 300
    server: _Server

    def setup(self) -> None:
        """Register the connection so stop() can cut keep-alive clients off."""
        super().setup()
        self.server.pbx._track(self.connection, add=True)

    def finish(self) -> None:
        """Unregister the connection."""
        self.server.pbx._track(self.connection, add=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and benchmarks read their own output."""

    def do_GET(self) -> None:
        """Serve GET (the control endpoint, or 405 on the dialer)."""
        self._serve()

    def do_POST(self) -> None:
        """Serve POST (place a call)."""
        self._serve()

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _serve(self) -> None:
        """Read the request, compute the answer (500 on a bug), and send it."""
        raw = self._read_body()
        try:
            answer = self.server.pbx._answer(self, raw)
        except Exception:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            answer = _json_answer(
                500,
                {
                    "error": "Internal server error",
                    "message": "An unexpected error occurred",
                    "timestamp": stamp,
                },
            )
        self._send(answer)

    def _read_body(self) -> bytes:
        """The body by Content-Length; a body we cannot frame is skipped and ends the connection."""
        length = self.headers.get("Content-Length", "0").strip()
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if chunked or not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            return b""
        return self.rfile.read(int(length))

    def _send(self, answer: _Answer) -> None:
        """Write status, headers with an exact Content-Length, and body."""
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)
        self.wfile.flush()


class FakePbx:
    """A loopback WebFones Dialer API for end-to-end tests and benchmarks."""

    def __init__(
        self,
        api_key: str = "test-pbx-key",
        *,
        latency: float = 0.0,
        rate_limit: int = 1000,
        rate_window: float = 900.0,
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.extensions: set[str] | None = None
        self.offline_extensions: set[str] = set()
        self.calls: list[RecordedCall] = []
        self._initial_latency = latency
        self._port = port
        self._limiter = _RateLimiter(rate_limit, rate_window)
        self._lock = threading.Lock()
        self._requests = 0
        self._scripted: deque[_Scripted] = deque()
        self._hangs: deque[float] = deque()
        self._connections: set[socket.socket] = set()
        #: TCP connections accepted since start (a client that keeps them alive opens few).
        self.connections_opened = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free (or the given) port on 127.0.0.1 and serve in a background thread."""
        if self._server is not None:
            return self
        self._server = _Server(self, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # how long stop() waits: once per test
            name=f"FakePbx:{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut open keep-alive connections, and free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

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
        """The base URL to give the client, e.g. "http://127.0.0.1:54321"."""
        if self._server is None:
            raise RuntimeError("FakePbx is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> int:
        """Total requests seen on every path, except GET /_fake/calls."""
        with self._lock:
            return self._requests

    # --- scripting ----------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        body: str | bytes | dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` authenticated POSTs to /dialer/call with this instead."""
        data, content_type = _encode_scripted(body)
        scripted = _Scripted(status, data, content_type, dict(headers or {}))
        with self._lock:
            self._scripted.extend([scripted] * count)

    def hang_next(self, seconds: float, count: int = 1) -> None:
        """Sleep `seconds` before answering the next `count` requests (to trip timeouts)."""
        with self._lock:
            self._hangs.extend([seconds] * count)

    def reset(self) -> None:
        """Forget calls, counters, scripts and rate windows; restore the initial settings."""
        with self._lock:
            self.calls.clear()
            self._requests = 0
            self._scripted.clear()
            self._hangs.clear()
        self._limiter.reset()
        self.latency = self._initial_latency
        self.extensions = None
        self.offline_extensions = set()

    # --- request handling (called from handler threads) ---------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        """Remember or forget an open connection."""
        with self._lock:
            if add:
                self._connections.add(conn)
                self.connections_opened += 1
            else:
                self._connections.discard(conn)

    def _answer(self, handler: _Handler, raw: bytes) -> _Answer:
        """Decide the answer to one request, in the order the real API would."""
        path = handler.path.split("?", 1)[0]
        if path == CALLS_PATH and handler.command == "GET":
            return self._calls_answer()
        received_at = time.time()
        self._count_and_wait()
        if path != CALL_PATH:
            return _json_answer(404, NOT_FOUND)
        auth = self._authenticate(handler)
        if isinstance(auth, _Answer):
            return auth
        retry_in = self._limiter.hit(handler.client_address[0])
        if retry_in is not None:
            return _json_answer(429, TOO_MANY, **{"Retry-After": str(math.ceil(retry_in))})
        if handler.command != "POST":
            return _json_answer(405, METHOD_NOT_ALLOWED, Allow="POST")
        scripted = self._pop_scripted()
        if scripted is not None:
            headers = tuple(scripted.headers.items())
            return _Answer(scripted.status, scripted.body, scripted.content_type, headers)
        return self._dial(raw, auth, received_at, path)

    def _count_and_wait(self) -> None:
        """Count the request, then sleep for the configured latency and any scripted hang."""
        with self._lock:
            self._requests += 1
            hang = self._hangs.popleft() if self._hangs else 0.0
        delay = self.latency + hang
        if delay > 0:
            time.sleep(delay)

    def _authenticate(self, handler: _Handler) -> str | _Answer:
        """The auth form used ("x-api-key" or "bearer"), or the 401/403 answer."""
        key = (handler.headers.get("x-api-key") or "").strip()
        form = "x-api-key"
        if not key:
            scheme, _, token = (handler.headers.get("Authorization") or "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
            form = "bearer"
        if not key:
            return _json_answer(401, KEY_MISSING)
        if not hmac.compare_digest(key.encode(), self.api_key.encode()):
            return _json_answer(403, KEY_INVALID)
        return form

    def _pop_scripted(self) -> _Scripted | None:
        """The next queued fail_next answer, if any."""
        with self._lock:
            return self._scripted.popleft() if self._scripted else None

    def _dial(self, raw: bytes, auth: str, received_at: float, path: str) -> _Answer:
        """Validate the call request and record it when the PBX would place it."""
        payload = _parse_payload(raw)
        extension = _field(payload or {}, "extension")
        phonenumber = _field(payload or {}, "phonenumber")
        if not extension or (self.extensions is not None and extension not in self.extensions):
            return _json_answer(400, INVALID_EXTENSION)
        if not phonenumber:
            return _json_answer(400, INVALID_NUMBER)
        if extension in self.offline_extensions:
            details = f"No devices available for extension {extension}"
            return _json_answer(400, {"message": "no devices", "details": details})
        call = RecordedCall(extension, phonenumber, auth, received_at, path)
        with self._lock:
            self.calls.append(call)
        return _json_answer(200, SUCCESS)

    def _calls_answer(self) -> _Answer:
        """The control endpoint: recorded calls and the request count, as JSON."""
        with self._lock:
            calls = [asdict(call) for call in self.calls]
            requests = self._requests
        return _json_answer(200, {"calls": calls, "requests": requests})


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options for running the fake standalone."""
    parser = argparse.ArgumentParser(description="Serve a fake WebFones Dialer API.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--key", default="test-pbx-key", help="the API key to accept")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--rate-limit", type=int, default=1000, help="requests per window")
    parser.add_argument("--rate-window", type=float, default=900.0, help="window in seconds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C, printing the URL once it is listening."""
    args = _parse_args(argv)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pbx = FakePbx(
        args.key,
        latency=args.latency,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        port=args.port,
    ).start()
    print(f"listening on {pbx.url}", flush=True)
    while not stopping.wait(0.5):
        pass
    pbx.stop()


if __name__ == "__main__":
    main()
