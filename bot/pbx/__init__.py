"""WebFones Dialer API client: places calls over one long-lived httpx.AsyncClient.

Our exception hierarchy, modelled on httpx's own (`httpx/_exceptions.py`):

* DialerError           any failure to place a call; `kind` names it for the audit log
  + InvalidExtension    400: the PBX does not know the extension
  + NoDevices           any status whose message/error/details says "no devices"
  + ApiKeyMissing       401: the PBX saw no key
  + ApiKeyRejected      403: the key is invalid or revoked
  + EndpointNotFound    404: the base URL is wrong
  + RateLimited         429: the per-IP budget is spent; `retry_after` when the PBX says
  + PbxError            5xx, non-JSON bodies, unexpected statuses, a 200 that is not "Success"
  + PbxTimeout          no answer in time: the call MAY have been placed
  + PbxUnreachable      no connection after retries: the call was NOT placed

Only failures to connect are retried: a POST that may have reached the PBX is never sent
twice, because that could ring someone twice. The API key never appears in an exception,
a result, a repr or a log line; httpx errors are summarised into `detail` (redacted) and
not chained, because they carry the request and so its headers.
"""

import asyncio
import contextlib
import html
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Self

import httpx

from bot.domain.outcomes import OUTCOMES, Outcome
from bot.pbx.transport import AiohttpTransport

logger = logging.getLogger(__name__)

USER_AGENT = "webfones-slack-dialer/0.1"
CALL_PATH = "/dialer/call"
MAX_BODY_BYTES = 64 * 1024
DETAIL_LIMIT = 200
REDACTED = "[redacted]"

_REPORTED_FIELDS = ("message", "error", "details")
_NO_DEVICES = re.compile(r"no\s+devices", re.IGNORECASE)
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_UNPRINTABLE = re.compile(r"[\s\x00-\x1f\x7f]+")
_NOT_LOGGABLE = re.compile(r"[^0-9A-Za-z*#+.-]")


@dataclass(frozen=True)
class CallPlaced:
    """The PBX accepted the call and is ringing the extension."""

    status: int
    latency_ms: int


@dataclass(frozen=True)
class ProbeAnswer:
    """How the PBX answered a probe: its status, how long it took, and whether it took the key.

    `key_accepted` is False when the answer says nothing about the key (404: not the Dialer
    API; 429: rate limited; 5xx: the PBX is failing); a refused key raises instead.
    """

    status: int
    latency_ms: int
    key_accepted: bool


class DialerError(Exception):
    """Base of every failure to place a call; `kind` names it for the audit log."""

    kind: ClassVar[Outcome] = Outcome.ERROR

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str = "",
        sent: bool = True,
        latency_ms: int = 0,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.sent = sent
        self.latency_ms = latency_ms

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self)!r}, status={self.status!r}, "
            f"sent={self.sent!r}, latency_ms={self.latency_ms!r})"
        )


class InvalidExtension(DialerError):
    """The PBX refused the request (400), usually because the extension is unknown."""

    kind = Outcome.INVALID_EXTENSION


class InvalidNumber(DialerError):
    """The PBX refused the request (400) because of the destination number, not the extension."""

    kind = Outcome.INVALID_NUMBER


class NoDevices(DialerError):
    """None of the extension's devices is reachable, so nothing can ring."""

    kind = Outcome.NO_DEVICES


class ApiKeyMissing(DialerError):
    """The PBX saw no API key (401): the app is misconfigured."""

    kind = Outcome.KEY_MISSING


class ApiKeyRejected(DialerError):
    """The PBX rejected the API key (403): it is wrong or was revoked."""

    kind = Outcome.KEY_REJECTED


class EndpointNotFound(DialerError):
    """The PBX answered 404: the base URL does not point at the Dialer API."""

    kind = Outcome.NOT_FOUND


class RateLimited(DialerError):
    """The PBX's per-IP request budget is spent (429); `retry_after` says for how long."""

    kind = Outcome.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str = "",
        sent: bool = True,
        latency_ms: int = 0,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail, sent=sent, latency_ms=latency_ms)
        self.retry_after = retry_after


class PbxError(DialerError):
    """The PBX failed or answered something other than the documented replies."""

    kind = Outcome.PBX_ERROR


class PbxTimeout(DialerError):
    """The PBX did not answer in time; the call MAY have been placed."""

    kind = Outcome.TIMEOUT


class PbxUnreachable(DialerError):
    """No connection to the PBX could be made, even after retries; no call was placed."""

    kind = Outcome.UNREACHABLE


#: Every way the PBX exchange can fail, one exception each (the outcome table words them).
FAILURE_KINDS: tuple[Outcome, ...] = tuple(
    error.kind
    for error in (
        InvalidExtension,
        InvalidNumber,
        NoDevices,
        ApiKeyMissing,
        ApiKeyRejected,
        EndpointNotFound,
        RateLimited,
        PbxError,
        PbxTimeout,
        PbxUnreachable,
    )
)


@dataclass(frozen=True)
class _Reply:
    """What the PBX answered: status, the JSON object (if the body was one) and raw text."""

    status: int
    fields: dict[str, Any] | None
    text: str
    retry_after: str | None


_STATUS_ERRORS: dict[int, type[DialerError]] = {
    400: InvalidExtension,
    401: ApiKeyMissing,
    403: ApiKeyRejected,
    404: EndpointNotFound,
    429: RateLimited,
}
# These statuses mean the same whatever the body: a proxy's HTML 404 is still a wrong URL.
_BODY_INDEPENDENT = frozenset({404, 429})


def redact(text: str, secret: str) -> str:
    """Return `text` with every occurrence of `secret` replaced, so it is safe to show."""
    return text.replace(secret, REDACTED) if secret else text


def _shorten(text: str, secret: str) -> str:
    """Redact, flatten whitespace and control characters, and cap at DETAIL_LIMIT chars."""
    flat = _UNPRINTABLE.sub(" ", redact(text, secret)).strip()
    return flat if len(flat) <= DETAIL_LIMIT else flat[: DETAIL_LIMIT - 1] + "…"


def _field_text(value: Any) -> str:
    """Render one message/error/details value (any JSON type) as text."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _reported(fields: dict[str, Any]) -> list[str]:
    """The distinct, non-empty message/error/details texts, in that order."""
    texts = [_field_text(fields.get(name)).strip() for name in _REPORTED_FIELDS]
    return list(dict.fromkeys(text for text in texts if text))


def _detail(reply: _Reply, secret: str) -> str:
    """A short, key-free description of the body for logs and the audit trail."""
    if reply.fields is not None:
        texts = _reported(reply.fields)
        return _shorten("; ".join(texts), secret) if texts else "no message in body"
    if not reply.text.strip():
        return "empty body"
    visible = html.unescape(_TAG.sub(" ", reply.text))
    return _shorten(f"non-JSON body: {visible}", secret)


def _json_object(text: str) -> dict[str, Any] | None:
    """The body parsed as a JSON object, or None when it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _says_no_devices(reply: _Reply) -> bool:
    """Whether any of message/error/details reports that no device is reachable."""
    fields = reply.fields or {}
    return any(_NO_DEVICES.search(_field_text(fields.get(name))) for name in _REPORTED_FIELDS)


def _is_success(reply: _Reply) -> bool:
    """Whether this is the documented success: 200 {"status": "200", "message": "Success"}."""
    if reply.status != 200 or reply.fields is None:
        return False
    status, message = reply.fields.get("status"), reply.fields.get("message")
    ok_status = isinstance(status, str | int) and str(status).strip() == "200"
    return ok_status and isinstance(message, str) and message.strip().lower() == "success"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), if usable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_class(reply: _Reply) -> type[DialerError]:
    """Which failure a non-success reply is, by body first and then by status."""
    if _says_no_devices(reply):
        return NoDevices
    if reply.fields is None and reply.status not in _BODY_INDEPENDENT:
        return PbxError
    if reply.status == 400 and _blames_the_number(reply):
        return InvalidNumber
    return _STATUS_ERRORS.get(reply.status, PbxError)


def _blames_the_number(reply: _Reply) -> bool:
    """Whether a 400 names the phone number rather than the extension."""
    text = " ".join(_field_text((reply.fields or {}).get(name)) for name in _REPORTED_FIELDS)
    text = text.lower()
    return "extension" not in text and ("phone" in text or "number" in text)


def _error_for(reply: _Reply, secret: str) -> DialerError | None:
    """The exception describing a reply, or None when the call was placed."""
    if _is_success(reply) and not _says_no_devices(reply):
        return None
    cls, detail = _error_class(reply), _detail(reply, secret)
    message = f"PBX answered {reply.status}: {detail}"
    if cls is RateLimited:
        retry_after = parse_retry_after(reply.retry_after)
        return RateLimited(message, status=reply.status, detail=detail, retry_after=retry_after)
    return cls(message, status=reply.status, detail=detail)


def _probe_answer(reply: _Reply, secret: str, latency_ms: int) -> ProbeAnswer:
    """What a probe's reply shows, raising when the key is missing or rejected."""
    if reply.status in (401, 403):
        detail = _detail(reply, secret)
        cls = _STATUS_ERRORS[reply.status]
        raise cls(f"PBX answered {reply.status}: {detail}", status=reply.status, detail=detail)
    says_nothing_of_the_key = reply.status in (404, 429) or reply.status >= 500
    return ProbeAnswer(reply.status, latency_ms, key_accepted=not says_nothing_of_the_key)


def _transport_detail(exc: Exception, secret: str) -> str:
    """A short, key-free description of an httpx transport error."""
    return _shorten(f"{type(exc).__name__}: {exc}", secret)


def _elapsed_ms(started: float) -> int:
    """Milliseconds since `started` (a time.perf_counter() reading)."""
    return int((time.perf_counter() - started) * 1000)


def _loggable(text: str) -> str:
    """Keep only dial-string characters so user input cannot forge log lines."""
    return _NOT_LOGGABLE.sub("", text)[:32]


def _level(outcome: str) -> int:
    """The outcome table's level: WARNING for what an operator should look at, else INFO."""
    try:
        return OUTCOMES[Outcome(outcome)].log_level
    except ValueError:  # a probe's "answered"
        return logging.INFO


def _log_dial(extension: str, phonenumber: str, outcome: str, status: int | None, ms: int) -> None:
    """Write the one log line each dial gets; never includes the key."""
    fields = {
        "extension": _loggable(extension),
        "phonenumber": re.sub(r"\D", "", phonenumber),
        "outcome": outcome,
        "status": status,
        "latency_ms": ms,
    }
    logger.log(
        _level(outcome),
        "webfones dial extension=%s phonenumber=%s outcome=%s status=%s latency_ms=%d",
        *fields.values(),
        extra=fields,
    )


def _log_probe(outcome: str, status: int | None, ms: int) -> None:
    """Write the one log line each probe gets; never includes the key."""
    fields = {"outcome": outcome, "status": status, "latency_ms": ms}
    logger.log(
        _level(outcome),
        "webfones probe outcome=%s status=%s latency_ms=%d",
        *fields.values(),
        extra=fields,
    )


async def _read_capped(response: httpx.Response, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read at most `limit` bytes of the body, so a huge answer cannot exhaust memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _check_settings(base_url: str, api_key: str, total_timeout: float) -> None:
    """Refuse settings that could never work, without echoing the key."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError("WebFones base_url must start with http:// or https://")
    if not api_key or not api_key.isprintable() or any(c.isspace() for c in api_key):
        raise ValueError("WebFones api_key is empty or contains whitespace")
    if total_timeout <= 0:
        raise ValueError("WebFones total_timeout must be positive")


class WebFonesClient:
    """Places calls through POST {base_url}/dialer/call."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
        connect_retries: int = 2,
        retry_backoff: float = 0.25,
        max_in_flight: int = 200,
    ) -> None:
        _check_settings(base_url, api_key, total_timeout)
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._connect_timeout = connect_timeout
        self._total_timeout = total_timeout
        self._connect_retries = max(0, connect_retries)
        self._retry_backoff = max(0.0, retry_backoff)
        #: Requests at the PBX at once; the rest wait here, unsent, for at most total_timeout.
        self._slots = asyncio.Semaphore(max(1, max_in_flight))
        if transport is None:
            # Idle connections expire before a Node-style server's 5 s keep-alive timeout, so a
            # POST is not sent on a socket the PBX is closing (that failure is not retryable).
            # No more connections than requests let through: none waits for a connection.
            transport = AiohttpTransport(
                max_connections=max(1, max_in_flight),
                keepalive_expiry=4.0,
                ssl_context=httpx.create_ssl_context(),
            )
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            headers={
                "x-api-key": api_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"WebFonesClient(base_url={self._base_url!r}, api_key={REDACTED!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def place_call(self, extension: str, phonenumber: str) -> CallPlaced:
        """Ask the PBX to ring `extension` and connect it to `phonenumber`; raise on failure."""
        started = time.perf_counter()
        try:
            payload = {"extension": extension, "phonenumber": phonenumber}
            reply = await self._exchange("POST", payload)
            error = _error_for(reply, self._api_key)
            if error is not None:
                raise error
        except DialerError as err:
            err.latency_ms = _elapsed_ms(started)
            _log_dial(extension, phonenumber, err.kind, err.status, err.latency_ms)
            raise
        placed = CallPlaced(status=reply.status, latency_ms=_elapsed_ms(started))
        _log_dial(extension, phonenumber, "placed", placed.status, placed.latency_ms)
        return placed

    async def probe(self) -> ProbeAnswer:
        """Check the PBX answers and accepts the key, with a GET that never places a call."""
        started = time.perf_counter()
        try:
            reply = await self._exchange("GET", None)
            answer = _probe_answer(reply, self._api_key, _elapsed_ms(started))
        except DialerError as err:
            err.latency_ms = _elapsed_ms(started)
            _log_probe(err.kind, err.status, err.latency_ms)
            raise
        _log_probe("answered", answer.status, answer.latency_ms)
        return answer

    async def aclose(self) -> None:
        """Close the pooled connections; the client cannot be used afterwards."""
        await self._http.aclose()

    async def _exchange(self, method: str, payload: dict[str, str] | None) -> _Reply:
        """Wait for a free slot (unsent), then send one request under its own deadline."""
        async with self._slot():
            return await self._exchange_now(method, payload)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the max_in_flight slots; past total_timeout, PbxUnreachable (never sent)."""
        try:
            async with asyncio.timeout(self._total_timeout):
                await self._slots.acquire()
        except TimeoutError:
            detail = f"all connections to the PBX stayed busy for {self._total_timeout:g}s"
            raise PbxUnreachable(
                f"no free connection: {detail}", detail=detail, sent=False
            ) from None
        try:
            yield
        finally:
            self._slots.release()

    async def _exchange_now(self, method: str, payload: dict[str, str] | None) -> _Reply:
        """Send one request under the overall deadline, retrying only failed connects."""
        deadline = asyncio.get_running_loop().time() + self._total_timeout
        try:
            async with asyncio.timeout_at(deadline):
                return await self._send_with_retries(method, payload, deadline)
        except TimeoutError as exc:
            detail = f"no answer within {self._total_timeout:g}s"
            raise PbxTimeout(f"PBX timed out: {detail}", detail=detail, sent=True) from exc

    async def _send_with_retries(
        self, method: str, payload: dict[str, str] | None, deadline: float
    ) -> _Reply:
        """Try to send; on a connect failure back off and try again while retries remain."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send_once(method, payload, deadline)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                backoff = self._retry_backoff * 2 ** (attempt - 1)
                if not self._may_retry(attempt, backoff, deadline):
                    raise self._unreachable(exc, attempt) from None
                await asyncio.sleep(backoff)
            except httpx.HTTPError as exc:
                raise self._failed_in_flight(exc) from None

    def _may_retry(self, attempt: int, backoff: float, deadline: float) -> bool:
        """Whether retries remain and there is time left to back off and connect again."""
        time_left = deadline - asyncio.get_running_loop().time()
        return attempt <= self._connect_retries and backoff + 0.05 < time_left

    async def _send_once(
        self, method: str, payload: dict[str, str] | None, deadline: float
    ) -> _Reply:
        """One HTTP exchange, reading a capped body; connect time is bounded by the deadline."""
        time_left = max(deadline - asyncio.get_running_loop().time(), 0.001)
        # Let a slow connect fail as ConnectTimeout (not sent) just before the deadline hits.
        connect = min(self._connect_timeout, max(time_left - 0.05, 0.001))
        timeout = httpx.Timeout(time_left, connect=connect)
        async with self._http.stream(method, CALL_PATH, json=payload, timeout=timeout) as response:
            body = await _read_capped(response)
        text = body.decode("utf-8", errors="replace")
        return _Reply(
            response.status_code, _json_object(text), text, response.headers.get("Retry-After")
        )

    def _unreachable(self, exc: Exception, attempts: int) -> PbxUnreachable:
        """The error for a PBX we could not connect to: the call was not placed."""
        detail = _transport_detail(exc, self._api_key)
        message = f"could not connect to the PBX after {attempts} attempt(s): {detail}"
        return PbxUnreachable(message, detail=detail, sent=False)

    def _failed_in_flight(self, exc: httpx.HTTPError) -> DialerError:
        """The error for a request that broke after it may have reached the PBX."""
        detail = _transport_detail(exc, self._api_key)
        if isinstance(exc, httpx.PoolTimeout):  # never left this process: safe to try again
            message = f"no free connection to the PBX: {detail}"
            return PbxUnreachable(message, detail=detail, sent=False)
        if isinstance(exc, httpx.TimeoutException):
            return PbxTimeout(f"PBX timed out: {detail}", detail=detail, sent=True)
        if isinstance(exc, httpx.UnsupportedProtocol):
            return PbxUnreachable(f"cannot reach the PBX: {detail}", detail=detail, sent=False)
        return PbxError(f"PBX exchange failed: {detail}", detail=detail, sent=True)
