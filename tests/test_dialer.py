"""Unit tests for bot.pbx.WebFonesClient against httpx.MockTransport."""

import asyncio
import json
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from bot.pbx import (
    ApiKeyMissing,
    ApiKeyRejected,
    CallPlaced,
    DialerError,
    EndpointNotFound,
    InvalidExtension,
    InvalidNumber,
    NoDevices,
    PbxError,
    PbxTimeout,
    PbxUnreachable,
    ProbeAnswer,
    RateLimited,
    WebFonesClient,
    parse_retry_after,
)
from tests.fakes.pbx import FakePbx

KEY = "wf-UNIT-7f3c9a1e-SECRET-d00dfeed"
BASE = "https://pbx.example.test:2343"
SUCCESS = {"status": "200", "message": "Success"}

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]
MakeClient = Callable[..., WebFonesClient]


def reply(status: int, body: Any = None, *, headers: dict[str, str] | None = None) -> Handler:
    """A handler that always answers `status` with `body` (dict -> JSON, str/bytes raw)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(body, dict | list):
            return httpx.Response(status, json=body, headers=headers)
        return httpx.Response(status, content=body or b"", headers=headers)

    return handle


class Recorder:
    """A handler that records every request and replays scripted outcomes in order."""

    def __init__(self, *outcomes: httpx.Response | Exception) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Build WebFonesClients over a MockTransport and close them after the test."""
    made: list[WebFonesClient] = []

    def make(handler: Handler, **kwargs: Any) -> WebFonesClient:
        kwargs.setdefault("retry_backoff", 0.0)
        client = WebFonesClient(
            kwargs.pop("base_url", BASE), KEY, transport=httpx.MockTransport(handler), **kwargs
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


async def dial_error(client: WebFonesClient) -> DialerError:
    """Place the standard call and return the DialerError it must raise."""
    with pytest.raises(DialerError) as caught:
        await client.place_call("309", "15808675309")
    return caught.value


def assert_key_hidden(*things: object) -> None:
    """The API key appears in no str/repr/traceback of anything given."""
    for thing in things:
        assert KEY not in str(thing)
        assert KEY not in repr(thing)
        if isinstance(thing, BaseException):
            assert KEY not in "".join(traceback.format_exception(thing))
            assert KEY not in getattr(thing, "detail", "")


# --- success and the exact request -------------------------------------------------------


async def test_success_returns_call_placed(make_client: MakeClient) -> None:
    client = make_client(reply(200, SUCCESS))
    placed = await client.place_call("309", "15808675309")
    assert isinstance(placed, CallPlaced)
    assert placed.status == 200
    assert placed.latency_ms >= 0


@pytest.mark.parametrize(
    "body",
    [
        {"status": 200, "message": "Success"},
        {"status": "200", "message": "success"},
        {"status": " 200 ", "message": "SUCCESS ", "extra": "ignored"},
    ],
)
async def test_success_variants_accepted(make_client: MakeClient, body: dict[str, Any]) -> None:
    placed = await make_client(reply(200, body)).place_call("309", "15808675309")
    assert placed.status == 200


async def test_request_is_exactly_as_documented(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.Response(200, json=SUCCESS))
    await make_client(recorder).place_call("309", "15808675309")
    [request] = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/dialer/call"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"] == "webfones-slack-dialer/0.1"
    assert "authorization" not in request.headers
    assert json.loads(request.content) == {"extension": "309", "phonenumber": "15808675309"}


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (f"{BASE}/", f"{BASE}/dialer/call"),
        ("https://gw.example.test/webfones", "https://gw.example.test/webfones/dialer/call"),
    ],
)
async def test_base_url_joins_cleanly(make_client: MakeClient, base: str, expected: str) -> None:
    recorder = Recorder(httpx.Response(200, json=SUCCESS))
    await make_client(recorder, base_url=base).place_call("309", "15808675309")
    assert str(recorder.requests[0].url) == expected


# --- status and body mapping ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected", "detail"),
    [
        (400, {"message": "invalid extension"}, InvalidExtension, "invalid extension"),
        (400, {"error": "Bad request"}, InvalidExtension, "Bad request"),
        (400, {"message": "invalid phonenumber"}, InvalidNumber, "invalid phonenumber"),
        (401, {"error": "API key is required", "message": "Please provide"}, ApiKeyMissing, "API"),
        (403, {"error": "Invalid API key"}, ApiKeyRejected, "Invalid API key"),
        (404, {"error": "Not found"}, EndpointNotFound, "Not found"),
        (404, "<html><body>Cannot POST</body></html>", EndpointNotFound, "Cannot POST"),
        (500, {"error": "Internal server error", "timestamp": "x"}, PbxError, "Internal server"),
        (502, "<html><head><title>502 Bad Gateway</title></head></html>", PbxError, "Bad Gateway"),
        (503, b"", PbxError, "empty body"),
        (200, {"status": "500", "message": "Failed"}, PbxError, "Failed"),
        (200, {"result": "ok"}, PbxError, "no message"),
        (200, "OK", PbxError, "non-JSON body: OK"),
        (200, b"", PbxError, "empty body"),
        (200, [1, 2], PbxError, "non-JSON"),
        (200, "null", PbxError, "non-JSON"),
        (201, SUCCESS, PbxError, "Success"),
        (302, b"", PbxError, "empty body"),
        (418, {"message": "teapot"}, PbxError, "teapot"),
        (400, "not json", PbxError, "not json"),
        (403, "<html>Forbidden by WAF</html>", PbxError, "WAF"),
    ],
)
async def test_status_and_body_map_to_errors(
    make_client: MakeClient,
    status: int,
    body: Any,
    expected: type[DialerError],
    detail: str,
) -> None:
    err = await dial_error(make_client(reply(status, body)))
    assert type(err) is expected
    assert err.status == status
    assert detail in err.detail
    assert err.sent is True
    assert "<" not in err.detail


@pytest.mark.parametrize("status", [200, 400, 500])
@pytest.mark.parametrize("field", ["message", "error", "details"])
async def test_no_devices_wins_at_any_status_and_field(
    make_client: MakeClient, status: int, field: str
) -> None:
    body = {"status": "200", field: "No Devices available for extension 309"}
    err = await dial_error(make_client(reply(status, body)))
    assert type(err) is NoDevices
    assert err.kind == "no_devices"
    assert err.status == status


async def test_no_devices_documented_shape(make_client: MakeClient) -> None:
    body = {"message": "no devices", "details": "No devices available for extension 309"}
    err = await dial_error(make_client(reply(400, body)))
    assert isinstance(err, NoDevices)
    assert err.detail == "no devices; No devices available for extension 309"


async def test_429_with_retry_after_seconds(make_client: MakeClient) -> None:
    body = {"error": "Too many requests from this IP, please try again later."}
    err = await dial_error(make_client(reply(429, body, headers={"Retry-After": "120"})))
    assert isinstance(err, RateLimited)
    assert err.retry_after == 120.0
    assert err.kind == "rate_limited"


async def test_429_without_retry_after(make_client: MakeClient) -> None:
    err = await dial_error(make_client(reply(429, {"error": "Too many requests"})))
    assert isinstance(err, RateLimited)
    assert err.retry_after is None


async def test_429_html_still_rate_limited(make_client: MakeClient) -> None:
    err = await dial_error(make_client(reply(429, "<h1>Slow down</h1>")))
    assert isinstance(err, RateLimited)


def test_retry_after_http_date_and_garbage() -> None:
    now = datetime(2025, 6, 19, 10, 30, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now) == pytest.approx(90.0)
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after("²", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


async def test_huge_body_is_truncated(make_client: MakeClient) -> None:
    body = json.dumps({"message": "x" * 5_000_000})
    err = await dial_error(make_client(reply(500, body)))
    assert isinstance(err, PbxError)
    assert len(err.detail) <= 200
    assert len(str(err)) < 300


async def test_huge_html_page(make_client: MakeClient) -> None:
    page = "<html><style>p{}</style><script>var a=1;</script><p>Oops</p>" + "<br>" * 100_000
    err = await dial_error(make_client(reply(502, page + "</html>")))
    assert isinstance(err, PbxError)
    assert err.detail == "non-JSON body: Oops"


async def test_control_characters_flattened(make_client: MakeClient) -> None:
    err = await dial_error(make_client(reply(400, {"message": "bad\r\nFAKE LOG LINE\x00"})))
    assert err.detail == "bad FAKE LOG LINE"


async def test_non_string_fields_rendered(make_client: MakeClient) -> None:
    err = await dial_error(make_client(reply(500, {"details": {"code": 7}})))
    assert err.detail == '{"code":7}'


# --- transport failures and retries --------------------------------------------------------


async def test_connect_error_retried_then_success(make_client: MakeClient) -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    recorder = Recorder(refused, httpx.ConnectTimeout("slow"), httpx.Response(200, json=SUCCESS))
    placed = await make_client(recorder).place_call("309", "15808675309")
    assert placed.status == 200
    assert len(recorder.requests) == 3


async def test_connect_error_exhausted_is_unreachable(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    err = await dial_error(make_client(recorder, connect_retries=2))
    assert isinstance(err, PbxUnreachable)
    assert err.sent is False
    assert err.status is None
    assert "Connection refused" in err.detail
    assert len(recorder.requests) == 3


async def test_no_retry_when_deadline_too_close(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.ConnectError("refused"))
    client = make_client(recorder, retry_backoff=5.0, total_timeout=1.0)
    err = await dial_error(client)
    assert isinstance(err, PbxUnreachable)
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ReadTimeout("timed out"), PbxTimeout),
        (httpx.WriteTimeout("timed out"), PbxTimeout),
        (httpx.ReadError("reset"), PbxError),
        (httpx.WriteError("broken pipe"), PbxError),
        (httpx.RemoteProtocolError("Server disconnected"), PbxError),
    ],
)
async def test_in_flight_failures_never_retried(
    make_client: MakeClient, exc: Exception, expected: type[DialerError]
) -> None:
    recorder = Recorder(exc, httpx.Response(200, json=SUCCESS))
    err = await dial_error(make_client(recorder, connect_retries=5))
    assert type(err) is expected
    assert err.sent is True
    assert len(recorder.requests) == 1


async def test_pool_timeout_never_left_so_it_is_unreachable_not_sent(
    make_client: MakeClient,
) -> None:
    err = await dial_error(make_client(Recorder(httpx.PoolTimeout("no connection"))))
    assert isinstance(err, PbxUnreachable)
    assert err.sent is False


async def test_overall_deadline(make_client: MakeClient) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=SUCCESS)

    err = await dial_error(make_client(slow, total_timeout=0.2))
    assert isinstance(err, PbxTimeout)
    assert err.sent is True
    assert 150 <= err.latency_ms < 2000


async def test_concurrent_calls_share_one_client(make_client: MakeClient) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return httpx.Response(200, json=SUCCESS)

    client = make_client(slow)
    results = await asyncio.gather(*(client.place_call("309", f"1580{i:07d}") for i in range(300)))
    assert all(r.status == 200 for r in results)


# --- the kinds -----------------------------------------------------------------------------


def test_kinds_are_distinct_and_documented() -> None:
    kinds = {
        InvalidExtension: "invalid_extension",
        InvalidNumber: "invalid_number",
        NoDevices: "no_devices",
        ApiKeyMissing: "key_missing",
        ApiKeyRejected: "key_rejected",
        EndpointNotFound: "not_found",
        RateLimited: "rate_limited",
        PbxError: "pbx_error",
        PbxTimeout: "timeout",
        PbxUnreachable: "unreachable",
    }
    assert DialerError.kind == "error"
    for cls, kind in kinds.items():
        assert issubclass(cls, DialerError)
        assert cls.kind == kind
    assert set(DialerError.__subclasses__()) == set(kinds)


def test_error_repr_is_informative() -> None:
    err = RateLimited("PBX answered 429: slow", status=429, detail="slow", retry_after=3.0)
    assert repr(err) == (
        "RateLimited('PBX answered 429: slow', status=429, sent=True, latency_ms=0)"
    )


# --- the secret ----------------------------------------------------------------------------


async def test_key_echoed_by_pbx_is_redacted(make_client: MakeClient) -> None:
    body = {"error": "Invalid API key", "details": f"key {KEY} was revoked"}
    err = await dial_error(make_client(reply(403, body)))
    assert "[redacted]" in err.detail
    assert_key_hidden(err)


async def test_key_never_in_errors_client_or_logs(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"message": f"no devices for {KEY}", "error": KEY, "details": f"Bearer {KEY}"}
    handlers: list[Handler] = [
        reply(200, SUCCESS),
        reply(403, echo),
        reply(500, f"<html>{KEY}</html>"),
        reply(429, {"error": KEY}, headers={"Retry-After": "1"}),
        Recorder(httpx.ConnectError(f"refused {KEY}")),
        Recorder(httpx.ReadTimeout(f"timed out {KEY}")),
        Recorder(httpx.RemoteProtocolError(f"bad {KEY}")),
    ]
    for handler in handlers:
        client = make_client(handler)
        assert_key_hidden(client)
        try:
            assert_key_hidden(await client.place_call("309", "15808675309"))
        except DialerError as err:
            assert_key_hidden(err)
        try:
            assert_key_hidden(await client.probe())
        except DialerError as err:
            assert_key_hidden(err)
    assert caplog.records
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in record.getMessage()


def test_bad_key_setting_not_echoed() -> None:
    with pytest.raises(ValueError) as caught:
        WebFonesClient(BASE, f"{KEY} \n")
    assert KEY not in str(caught.value)


def test_client_repr_hides_key() -> None:
    client = WebFonesClient(BASE, KEY)
    assert repr(client) == f"WebFonesClient(base_url={BASE!r}, api_key='[redacted]')"


# --- logging -------------------------------------------------------------------------------


async def test_one_log_line_per_call(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pbx")
    await make_client(reply(200, SUCCESS)).place_call("309", "1 (580) 867-5309")
    await dial_error(make_client(reply(400, {"message": "invalid extension"})))
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.pbx"]
    assert len(lines) == 2
    assert "extension=309" in lines[0]
    assert "phonenumber=15808675309" in lines[0]
    assert "outcome=placed status=200" in lines[0]
    assert "outcome=invalid_extension status=400" in lines[1]
    assert "latency_ms=" in lines[1]


async def test_log_line_cannot_be_forged(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pbx")
    await make_client(reply(200, SUCCESS)).place_call("309\nFAKE outcome=x", "1580\n8675309")
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.pbx"]
    assert "\n" not in line


# --- probe ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "expected"), [(401, ApiKeyMissing), (403, ApiKeyRejected)])
async def test_probe_key_problems(
    make_client: MakeClient, status: int, expected: type[DialerError]
) -> None:
    recorder = Recorder(httpx.Response(status, json={"error": "nope"}))
    with pytest.raises(expected):
        await make_client(recorder).probe()
    assert [r.method for r in recorder.requests] == ["GET"]


@pytest.mark.parametrize(
    ("status", "accepted"),
    [(405, True), (400, True), (200, True), (404, False), (429, False), (500, False)],
)
async def test_probe_other_answers_are_typed(
    make_client: MakeClient, status: int, accepted: bool
) -> None:
    recorder = Recorder(httpx.Response(status, json={"error": "Method not allowed"}))
    answer = await make_client(recorder).probe()
    assert isinstance(answer, ProbeAnswer)
    assert (answer.status, answer.key_accepted) == (status, accepted)
    assert answer.latency_ms >= 0
    request = recorder.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/dialer/call"
    assert request.headers["x-api-key"] == KEY
    assert request.content == b""


async def test_probe_connect_failure(make_client: MakeClient) -> None:
    recorder = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(PbxUnreachable) as caught:
        await make_client(recorder).probe()
    assert caught.value.sent is False
    assert {r.method for r in recorder.requests} == {"GET"}


async def test_probe_timeout(make_client: MakeClient) -> None:
    with pytest.raises(PbxTimeout):
        await make_client(Recorder(httpx.ReadTimeout("slow"))).probe()


async def test_requests_past_the_bound_wait_unsent_and_a_slot_wait_past_the_deadline_is_not_sent(
    make_client: MakeClient,
) -> None:
    """One request at the PBX at a time: the third in line waits, unsent, past its deadline."""
    release = asyncio.Event()
    seen: list[str] = []

    async def stalls(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["phonenumber"])
        await release.wait()
        return httpx.Response(200, json=SUCCESS)

    client = make_client(stalls, max_in_flight=1, total_timeout=0.6)

    async def in_line(digit: int) -> CallPlaced | BaseException:
        await asyncio.sleep(0.15 * digit)  # one after another, each well inside the last wait
        try:
            return await client.place_call("309", f"1580867530{digit}")
        except DialerError as error:
            return error

    first, second, third = await asyncio.gather(*(in_line(digit) for digit in (1, 2, 3)))
    assert isinstance(first, PbxTimeout) and first.sent  # at the PBX: it may ring
    assert isinstance(second, PbxTimeout) and second.sent  # its turn came, then it timed out
    assert isinstance(third, PbxUnreachable) and third.sent is False  # never left the queue
    assert "stayed busy for 0.6s" in str(third)
    assert seen == ["15808675301", "15808675302"]
    release.set()
    placed = await client.place_call("309", "15808675303")  # the slot is free again
    assert isinstance(placed, CallPlaced) and seen[-1] == "15808675303"


async def test_no_more_requests_reach_the_pbx_at_once_than_the_bound(
    make_client: MakeClient,
) -> None:
    at_the_pbx, most = 0, 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal at_the_pbx, most
        at_the_pbx += 1
        most = max(most, at_the_pbx)
        await asyncio.sleep(0.02)
        at_the_pbx -= 1
        return httpx.Response(200, json=SUCCESS)

    client = make_client(answer, max_in_flight=3)
    placed = await asyncio.gather(
        *(client.place_call("309", f"1580867{5300 + i}") for i in range(9))
    )
    assert len(placed) == 9 and most == 3


async def test_a_burst_larger_than_max_in_flight_reuses_its_connections() -> None:
    """Calls past max_in_flight wait for a connection and then reuse it, never a new one.

    Every new connection to a real PBX is a TLS handshake. (httpcore 1.0's pool closed an idle
    connection whenever it held more than its keep-alive limit, 50 by default, so a burst's
    later waves paid one per call.)
    """
    in_flight = 60
    with FakePbx(latency=0.2) as pbx:
        async with WebFonesClient(pbx.url, pbx.api_key, max_in_flight=in_flight) as client:
            placed = await asyncio.gather(
                *(client.place_call("309", f"1580867{i:04d}") for i in range(3 * in_flight))
            )
    assert len(placed) == 3 * in_flight and len(pbx.calls) == 3 * in_flight
    assert pbx.connections_opened == in_flight
