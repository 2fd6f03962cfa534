"""The loopback fake PBX, exercised with the real WebFonesClient and raw httpx."""

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.pbx import (
    ApiKeyRejected,
    EndpointNotFound,
    InvalidExtension,
    NoDevices,
    PbxError,
    PbxTimeout,
    PbxUnreachable,
    RateLimited,
    WebFonesClient,
)
from tests.fakes.pbx import FakePbx

KEY = "fake-pbx-KEY-0123456789abcdef"


@pytest.fixture
def pbx() -> Iterator[FakePbx]:
    """A started fake PBX accepting KEY."""
    with FakePbx(KEY) as fake:
        yield fake


@pytest.fixture
async def client(pbx: FakePbx) -> AsyncIterator[WebFonesClient]:
    """A real WebFonesClient pointed at the fake."""
    dialer = WebFonesClient(pbx.url, KEY, total_timeout=5.0, retry_backoff=0.0)
    yield dialer
    await dialer.aclose()


async def raw_post(pbx: FakePbx, headers: dict[str, str], content: bytes) -> httpx.Response:
    """POST /dialer/call with exactly these headers and body, bypassing WebFonesClient."""
    async with httpx.AsyncClient(base_url=pbx.url) as http:
        return await http.post("/dialer/call", headers=headers, content=content)


BODY = b'{"extension": "309", "phonenumber": "15808675309"}'


async def test_success_recorded(pbx: FakePbx, client: WebFonesClient) -> None:
    placed = await client.place_call("309", "15808675309")
    assert placed.status == 200
    [call] = pbx.calls
    assert (call.extension, call.phonenumber, call.auth, call.path) == (
        "309",
        "15808675309",
        "x-api-key",
        "/dialer/call",
    )
    assert call.received_at == pytest.approx(time.time(), abs=5)
    assert pbx.requests == 1


async def test_bearer_auth_accepted(pbx: FakePbx) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    response = await raw_post(pbx, headers, BODY)
    assert response.status_code == 200
    assert response.json() == {"status": "200", "message": "Success"}
    assert pbx.calls[0].auth == "bearer"


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({}, 401, "API key is required"),
        ({"Authorization": "Basic abc"}, 401, "API key is required"),
        ({"x-api-key": "wrong"}, 403, "Invalid API key"),
        ({"Authorization": "Bearer wrong"}, 403, "Invalid API key"),
    ],
)
async def test_auth_failures(
    pbx: FakePbx, headers: dict[str, str], status: int, error: str
) -> None:
    response = await raw_post(pbx, headers, BODY)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert pbx.calls == []


async def test_wrong_key_is_rejected(pbx: FakePbx) -> None:
    async with WebFonesClient(pbx.url, "not-the-key") as wrong:
        with pytest.raises(ApiKeyRejected):
            await wrong.place_call("309", "15808675309")
        with pytest.raises(ApiKeyRejected):
            await wrong.probe()
    assert pbx.calls == []


@pytest.mark.parametrize(
    "body", [b"{not json", b"[]", b'{"phonenumber": "1"}', b'{"extension": " "}']
)
async def test_malformed_requests_are_invalid_extension(pbx: FakePbx, body: bytes) -> None:
    response = await raw_post(pbx, {"x-api-key": KEY}, body)
    assert response.status_code == 400
    assert response.json() == {"message": "invalid extension"}


async def test_known_and_offline_extensions(pbx: FakePbx, client: WebFonesClient) -> None:
    pbx.extensions = {"309", "310"}
    pbx.offline_extensions = {"310"}
    with pytest.raises(InvalidExtension):
        await client.place_call("999", "15808675309")
    with pytest.raises(NoDevices) as caught:
        await client.place_call("310", "15808675309")
    assert caught.value.detail == "no devices; No devices available for extension 310"
    assert (await client.place_call("309", "15808675309")).status == 200
    assert [c.extension for c in pbx.calls] == ["309"]


async def test_rate_limit_after_the_limit() -> None:
    with FakePbx(KEY, rate_limit=3, rate_window=60.0) as pbx:
        async with WebFonesClient(pbx.url, KEY) as client:
            for _ in range(3):
                await client.place_call("309", "15808675309")
            with pytest.raises(RateLimited) as caught:
                await client.place_call("309", "15808675309")
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60
    assert len(pbx.calls) == 3


async def test_latency_honoured(pbx: FakePbx, client: WebFonesClient) -> None:
    pbx.latency = 0.3
    placed = await client.place_call("309", "15808675309")
    assert placed.latency_ms >= 300


async def test_hang_trips_the_deadline_but_the_call_lands(pbx: FakePbx) -> None:
    pbx.hang_next(1.0)
    async with WebFonesClient(pbx.url, KEY, total_timeout=0.3) as client:
        with pytest.raises(PbxTimeout) as caught:
            await client.place_call("309", "15808675309")
        assert caught.value.sent is True
        assert (await client.place_call("309", "15808675310")).status == 200
    for _ in range(50):
        if len(pbx.calls) == 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(c.phonenumber for c in pbx.calls) == ["15808675309", "15808675310"]
    assert pbx.requests == 2


async def test_fail_next_html_502(pbx: FakePbx, client: WebFonesClient) -> None:
    pbx.fail_next(502, "<html><head><title>502 Bad Gateway</title></head></html>")
    with pytest.raises(PbxError) as caught:
        await client.place_call("309", "15808675309")
    assert caught.value.status == 502
    assert "Bad Gateway" in caught.value.detail
    assert pbx.calls == []
    assert (await client.place_call("309", "15808675309")).status == 200


async def test_fail_next_429_with_retry_after(pbx: FakePbx, client: WebFonesClient) -> None:
    pbx.fail_next(429, {"error": "Too many requests"}, headers={"Retry-After": "42"}, count=2)
    for _ in range(2):
        with pytest.raises(RateLimited) as caught:
            await client.place_call("309", "15808675309")
        assert caught.value.retry_after == 42.0


async def test_probe_never_places_a_call(pbx: FakePbx, client: WebFonesClient) -> None:
    answer = await client.probe()
    assert (answer.status, answer.key_accepted) == (405, True)
    assert pbx.calls == []
    assert pbx.requests == 1


async def test_wrong_base_url(pbx: FakePbx) -> None:
    async with WebFonesClient(f"{pbx.url}/v2", KEY) as client:
        with pytest.raises(EndpointNotFound):
            await client.place_call("309", "15808675309")


async def test_many_concurrent_dials_over_keep_alive(pbx: FakePbx) -> None:
    pbx.latency = 0.2
    async with WebFonesClient(pbx.url, KEY) as client:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(client.place_call("309", f"1580{i:07d}") for i in range(250))
        )
        elapsed = time.perf_counter() - started
    assert all(r.status == 200 for r in results)
    assert len(pbx.calls) == 250
    assert elapsed < 5


async def test_stopped_pbx_is_unreachable(pbx: FakePbx, client: WebFonesClient) -> None:
    await client.place_call("309", "15808675309")
    pbx.stop()
    with pytest.raises(PbxUnreachable) as caught:
        await client.place_call("309", "15808675309")
    assert caught.value.sent is False


async def test_reset(pbx: FakePbx, client: WebFonesClient) -> None:
    pbx.fail_next(500, "boom")
    pbx.latency = 1.0
    pbx.reset()
    assert pbx.latency == 0.0
    assert (await client.place_call("309", "15808675309")).status == 200
    pbx.reset()
    assert (pbx.calls, pbx.requests) == ([], 0)


def test_standalone_process_serves_and_reports_calls() -> None:
    command = [sys.executable, "-m", "tests.fakes.pbx", "--port", "0", "--key", KEY]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:")
            url = line.removeprefix("listening on ")
            headers = {"x-api-key": KEY}
            dial = {"extension": "309", "phonenumber": "15808675309"}
            assert httpx.post(f"{url}/dialer/call", headers=headers, json=dial).status_code == 200
            report = httpx.get(f"{url}/_fake/calls").json()
            assert report["requests"] == 1
            assert [(c["extension"], c["auth"]) for c in report["calls"]] == [("309", "x-api-key")]
        finally:
            process.terminate()
        assert process.wait(timeout=10) == 0
