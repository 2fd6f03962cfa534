"""Metrics: each attempt counted once under fixed labels; budget read at scrape; own registry."""

from __future__ import annotations

import asyncio
import math
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import wiring
from bot.config import SettingsError, load_settings
from bot.domain.answers import CallerAnswer
from bot.domain.outcomes import Kind, Outcome
from bot.domain.rates import Rate
from bot.metrics import REPLY_METHODS, Metrics, serve_metrics, slack_call_failed
from bot.pbx import CallPlaced, PbxError, RateLimited
from bot.services.dialing import CallRequest, Surface
from bot.slack.app import request_kind
from bot.slack.replies import reply
from bot.store import Store
from tests.botproc import free_port
from tests.fakes.signing import (
    block_actions_payload,
    interactive_body,
    message_action_payload,
    signed_headers,
    slash_command_body,
    slash_command_payload,
)
from tests.fakes.slack import FakeSlack
from tests.test_service import RecordingReplies, make_service

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

BASE_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-unit-test",
    "SLACK_SIGNING_SECRET": "s",
    "WEBFONES_API_KEY": "k",
}


def samples(metrics: Metrics) -> Samples:
    """Every sample of a scrape, parsed by prometheus-client's own parser."""
    text = metrics.exposition().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    """One sample's value, or None when the series does not exist."""
    return samples(metrics).get((name, frozenset(labels.items())))


def dials(metrics: Metrics, surface: str, outcome: str, kind: str) -> float | None:
    return value(
        metrics, "webfones_dialer_dials_total", surface=surface, outcome=outcome, kind=kind
    )


# --- the registry ---------------------------------------------------------------------------


def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.dial_ended("slash", Outcome.PLACED)
    assert dials(first, "slash", "placed", "call") == 1
    assert dials(second, "slash", "placed", "call") is None


def test_reply_failure_series_start_at_zero_for_every_method() -> None:
    metrics = Metrics()
    for method in ("response_url", "views.update", "views.publish", "chat.postMessage"):
        assert value(metrics, "webfones_dialer_slack_reply_failures_total", method=method) == 0


# --- the dialing path -------------------------------------------------------------------------


async def test_each_attempt_is_counted_once_under_its_surface_outcome_and_kind(
    tmp_path: Path,
) -> None:
    service, dialer = make_service(tmp_path)
    metrics = service.metrics
    await service.dial(CallRequest("U1", "580-867-5309", Surface.SLASH), RecordingReplies())
    await service.dial(CallRequest("U1", "1-900-976-1234", Surface.SHORTCUT), RecordingReplies())
    await service.dial(CallRequest("UNLINKED", "310", Surface.MODAL), RecordingReplies())
    dialer.fail_with = PbxError("500", status=500, latency_ms=250)
    await service.dial(CallRequest("U2", "580-867-5309", Surface.HOME), RecordingReplies())
    await service.dial(CallRequest("U2", "580-867-5309", Surface.HOME), RecordingReplies())
    await service.refuse(CallRequest("U1", "hello", Surface.SHORTCUT), Outcome.REFUSED_NO_NUMBER)

    assert dials(metrics, "slash", "placed", "call") == 1
    assert dials(metrics, "shortcut", "refused_premium_rate", "refused") == 1
    assert dials(metrics, "modal", "refused_unlinked", "refused") == 1
    assert dials(metrics, "home", "pbx_error", "failure") == 1
    assert dials(metrics, "home", "held_may_still_ring", "held") == 1
    assert dials(metrics, "shortcut", "refused_no_number", "refused") == 1
    total = sum(v for (name, _), v in samples(metrics).items() if name.endswith("dials_total"))
    assert total == 6


async def test_pbx_latency_is_observed_once_per_request_by_outcome(tmp_path: Path) -> None:
    service, dialer = make_service(tmp_path)
    metrics = service.metrics
    await service.dial(CallRequest("U1", "310", Surface.SLASH), RecordingReplies())
    dialer.fail_with = PbxError("500", status=500, latency_ms=2500)
    await service.dial(CallRequest("U2", "580-867-5309", Surface.SLASH), RecordingReplies())
    await service.dial(CallRequest("U1", "1-900-976-1234", Surface.SLASH), RecordingReplies())

    name = "webfones_dialer_pbx_request_duration_seconds"
    assert value(metrics, f"{name}_count", outcome="placed") == 1
    assert value(metrics, f"{name}_count", outcome="pbx_error") == 1
    assert value(metrics, f"{name}_sum", outcome="pbx_error") == pytest.approx(2.5)
    assert value(metrics, f"{name}_bucket", outcome="pbx_error", le="2.0") == 0
    assert value(metrics, f"{name}_bucket", outcome="pbx_error", le="3.0") == 1
    assert value(metrics, f"{name}_count", outcome="refused_premium_rate") is None


async def test_a_429_counts_one_pause_and_the_next_dial_is_held(tmp_path: Path) -> None:
    service, dialer = make_service(tmp_path)
    metrics = service.metrics
    assert value(metrics, "webfones_dialer_pbx_pauses_total") == 0
    dialer.fail_with = RateLimited("429", status=429, retry_after=120)
    await service.dial(CallRequest("U1", "310", Surface.SLASH), RecordingReplies())
    dialer.fail_with = None
    await service.dial(CallRequest("U2", "580-867-5309", Surface.SLASH), RecordingReplies())
    assert value(metrics, "webfones_dialer_pbx_pauses_total") == 1
    assert dials(metrics, "slash", "rate_limited", "failure") == 1
    assert dials(metrics, "slash", "held_pbx_cooldown", "held") == 1


async def test_calls_in_flight_rise_while_the_pbx_works_and_fall_after(tmp_path: Path) -> None:
    service, dialer = make_service(tmp_path)
    metrics = service.metrics
    answer_now = asyncio.Event()
    entered = asyncio.Event()

    async def slow_place_call(extension: str, phonenumber: str) -> CallPlaced:
        entered.set()
        await answer_now.wait()
        return CallPlaced(status=200, latency_ms=5)

    dialer.place_call = slow_place_call  # type: ignore[method-assign]
    gauge = "webfones_dialer_calls_in_flight"
    assert value(metrics, gauge) == 0
    first = asyncio.create_task(
        service.dial(CallRequest("U1", "310", Surface.SLASH), RecordingReplies())
    )
    second = asyncio.create_task(
        service.dial(CallRequest("U2", "580-867-5309", Surface.SLASH), RecordingReplies())
    )
    await asyncio.wait_for(entered.wait(), 2)
    await asyncio.sleep(0)
    assert value(metrics, gauge) == 2
    answer_now.set()
    await asyncio.wait_for(asyncio.gather(first, second), 2)
    assert value(metrics, gauge) == 0


# --- the PBX budget ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def reserve(store: Store, user: str, rate: Rate) -> None:
    store.calls.reserve(
        user,
        extension="309",
        destination=f"+1580867{len(user):04d}",
        surface="slash",
        user_rate=Rate(100, 60),
        pbx_rate=rate,
    )


def test_budget_left_is_read_from_the_call_log_at_each_scrape(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(str(tmp_path / "dialer.db"), clock=clock)
    rate = Rate(3, 60)
    metrics = Metrics()
    metrics.watch_pbx_budget(store.calls, rate)
    assert value(metrics, "webfones_dialer_pbx_budget_limit") == 3
    assert value(metrics, "webfones_dialer_pbx_budget_remaining") == 3
    reserve(store, "U1", rate)
    store.calls.record_refusal("U2", extension=None, destination=None, surface="slash", outcome="x")
    assert value(metrics, "webfones_dialer_pbx_budget_remaining") == 2  # refusals are free
    reserve(store, "U22", rate)
    reserve(store, "U333", rate)
    assert value(metrics, "webfones_dialer_pbx_budget_remaining") == 0
    clock.now += 61  # the window slides past every request
    assert value(metrics, "webfones_dialer_pbx_budget_remaining") == 3


def test_budget_never_reads_below_zero(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "dialer.db"))
    for user in ("U1", "U22", "U333"):
        reserve(store, user, Rate(10, 60))
    metrics = Metrics()
    metrics.watch_pbx_budget(store.calls, Rate(2, 60))  # lowered since those were sent
    assert value(metrics, "webfones_dialer_pbx_budget_remaining") == 0


def test_an_unreadable_store_gives_nan_and_the_scrape_still_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def pbx_budget_left(self, rate: Rate) -> int:
            raise OSError("disk gone")

    metrics = Metrics()
    metrics.watch_pbx_budget(Broken(), Rate(1000, 900))
    metrics.dial_ended("slash", Outcome.PLACED)
    left = value(metrics, "webfones_dialer_pbx_budget_remaining")
    assert left is not None and math.isnan(left)
    assert dials(metrics, "slash", "placed", "call") == 1
    assert "could not read the PBX budget: OSError" in caplog.text


# --- Slack requests and replies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (slash_command_payload("/dial", "310", user_id="U1", response_url="x"), "command"),
        (message_action_payload(user_id="U1", text="310", response_url="x"), "shortcut"),
        ({"type": "shortcut", "callback_id": "dial_from_modal"}, "shortcut"),
        (block_actions_payload(user_id="U1", action_id="a", value="v", response_url="x"), "action"),
        ({"type": "view_submission", "view": {"callback_id": "dial_modal"}}, "view"),
        ({"type": "event_callback", "event": {"type": "app_home_opened"}}, "event"),
        ({"type": "url_verification", "challenge": "c"}, "other"),
        ({}, "other"),
    ],
)
def test_request_kinds(body: dict[str, Any], kind: str) -> None:
    assert request_kind(body) == kind


def test_handling_times_the_ack_and_counts_slack_failures_for_its_own_app() -> None:
    metrics, other = Metrics(), Metrics()
    slack_call_failed("views.update")  # outside any request: counted nowhere, no error
    with metrics.handling("command"):
        slack_call_failed("views.update")
    slack_call_failed("views.update")
    failures = "webfones_dialer_slack_reply_failures_total"
    assert value(metrics, failures, method="views.update") == 1
    assert value(other, failures, method="views.update") == 0
    assert value(metrics, "webfones_dialer_ack_duration_seconds_count", kind="command") == 1


class FakeRespond:
    """Stands in for Bolt's respond(): raises, or answers a status."""

    def __init__(self, status: int | None) -> None:
        self.status = status

    async def __call__(self, **kwargs: Any) -> Any:
        if self.status is None:
            raise aiohttp.ClientConnectionError("gone")
        return type("Sent", (), {"status_code": self.status})()


@pytest.mark.parametrize(("status", "failed"), [(200, 0), (404, 1), (None, 1)])
async def test_a_response_url_reply_slack_refuses_is_counted(
    status: int | None, failed: int
) -> None:
    metrics = Metrics()
    with metrics.handling("command"):
        await reply(FakeRespond(status), "hello")  # type: ignore[arg-type]
    assert value(metrics, "webfones_dialer_slack_reply_failures_total", method="response_url") == (
        failed
    )


async def test_the_app_times_each_ack_by_kind_of_request(tmp_path: Path) -> None:
    with FakeSlack(bot_token="xoxb-unit-test") as slack:
        env = {**BASE_ENV, "SLACK_API_URL": slack.api_url, "DIALER_DB": str(tmp_path / "d.db")}
        built = wiring.build(load_settings(env))
        app = built.app
        body = slash_command_body("/dial", "help", user_id="U1", response_url="http://x/r")
        signed = AsyncBoltRequest(body=body, headers=signed_headers(body, "s"))
        assert (await app.async_dispatch(signed)).status == 200
        payload = message_action_payload(user_id="U1", text="x", response_url="http://x/r")
        unsigned = AsyncBoltRequest(body=interactive_body(payload), headers={})
        assert (await app.async_dispatch(unsigned)).status == 401
        await built.aclose()
    metrics = built.metrics
    assert value(metrics, "webfones_dialer_ack_duration_seconds_count", kind="command") == 1
    assert value(metrics, "webfones_dialer_ack_duration_seconds_count", kind="shortcut") == 1


# --- serving ----------------------------------------------------------------------------------


async def test_the_metrics_port_serves_the_exposition_on_its_host() -> None:
    metrics = Metrics()
    metrics.dial_ended("workflow", Outcome.HELD_USER_RATE)
    port = free_port()
    runner = await serve_metrics(metrics, "127.0.0.1", port)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            assert response.status == 200
            assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
            text = await response.text()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/slack/events") as other,
        ):
            assert other.status == 404
    finally:
        await runner.cleanup()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    [sample] = [s for s in families["webfones_dialer_dials"].samples if s.name.endswith("_total")]
    assert sample.labels == {"surface": "workflow", "outcome": "held_user_rate", "kind": "held"}


async def test_a_metrics_port_in_use_raises_and_leaves_nothing_listening() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            await serve_metrics(Metrics(), "127.0.0.1", port)


# --- settings ---------------------------------------------------------------------------------


def test_metrics_port_is_off_by_default_and_binds_loopback() -> None:
    settings = load_settings(BASE_ENV)
    assert settings.metrics_port is None and settings.metrics_host == "127.0.0.1"
    settings = load_settings(
        {**BASE_ENV, "DIALER_METRICS_PORT": "9464", "DIALER_METRICS_HOST": "0.0.0.0"}
    )
    assert settings.metrics_port == 9464 and settings.metrics_host == "0.0.0.0"


@pytest.mark.parametrize("raw", ["abc", "0", "70000", "-1"])
def test_a_bad_metrics_port_is_named(raw: str) -> None:
    with pytest.raises(SettingsError, match="DIALER_METRICS_PORT"):
        load_settings({**BASE_ENV, "DIALER_METRICS_PORT": raw})


# --- the reference --------------------------------------------------------------------------


def test_the_reference_names_every_metric_and_label_value() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "metrics.md").read_text()
    metrics = Metrics()
    metrics.watch_pbx_budget(Store(":memory:").calls, Rate(1000, 900))
    names = [family.name for family in metrics.registry.collect()]
    assert len(names) == 9
    values = [s.value for s in Surface] + list(REPLY_METHODS) + [k.value for k in Kind]
    values += [answer.value for answer in CallerAnswer]
    values += [o.value for o in Outcome if o not in (Outcome.PENDING, Outcome.INTERRUPTED)]
    values += ["command", "shortcut", "action", "view", "event", "other"]
    missing = [n for n in names + values if f"`{n}" not in doc]
    assert missing == []
