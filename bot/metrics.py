"""Prometheus metrics: what an operator graphs and alerts on, on a registry of the app's own.

One `Metrics` per app (made in `bot.wiring.build`, or a fresh one per `DialService` in tests),
each on its own `CollectorRegistry`, so nothing leaks between apps in one process. The dialing
path records each attempt once (`DialService`); `DialerApp.async_dispatch` times each ack and
makes these metrics the current ones while Bolt handles the request, so a Slack call that
fails deep inside a listener counts itself with `slack_call_failed`. The kind of request
(command, shortcut, action, view, event) is read by the Slack surface. Label values come only
from fixed tables (surfaces, outcomes, kinds of request, Slack methods): never a user ID, a
number or an extension.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from bot.domain.answers import CallerAnswer
from bot.domain.outcomes import OUTCOMES, Outcome
from bot.domain.rates import Rate

log = logging.getLogger(__name__)

PREFIX = "webfones_dialer"
METRICS_PATH = "/metrics"
#: The Slack calls whose failures are counted, by the name of the Web API method (or the
#: payload's response_url); each starts at 0 so a rate() alert sees the first failure.
REPLY_METHODS = ("response_url", "views.update", "views.publish", "chat.postMessage")
#: The PBX's answers take from milliseconds to the whole WEBFONES_TIMEOUT (15 s by default).
PBX_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0)
#: Slack gives an ack 3 seconds; most should take a few milliseconds.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
#: Where calls are placed (bot.services.dialing.Surface, the audit log's `surface` column):
#: callers' answers start at 0 under each, so a rate() alert sees the first one.
ANSWER_SURFACES = ("slash", "shortcut", "choice", "modal", "home", "workflow")


class BudgetLedger(Protocol):
    """What the PBX budget gauge reads: the store's count of what the budget has left."""

    def pbx_budget_left(self, rate: Rate) -> int:
        """Requests the PBX budget still allows in the current window."""


class Metrics:
    """The app's counters, histograms and gauges, on a registry of their own."""

    def __init__(self) -> None:
        # A *_created series beside every counter and histogram doubles what Prometheus stores,
        # for a start time it already knows; prometheus-client's switch for it is process-wide.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        registry = self.registry
        self.dials = Counter(
            f"{PREFIX}_dials",
            "Attempts to call, by where in Slack they came from and how they ended.",
            ["surface", "outcome", "kind"],
            registry=registry,
        )
        self.pbx_seconds = Histogram(
            f"{PREFIX}_pbx_request_duration_seconds",
            "Time from sending a call to the PBX to its answer (or giving up), by outcome.",
            ["outcome"],
            buckets=PBX_BUCKETS,
            registry=registry,
        )
        self.ack_seconds = Histogram(
            f"{PREFIX}_ack_duration_seconds",
            "Time from a Slack request's arrival to its ack being handed back, by request kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.calls_in_flight = Gauge(
            f"{PREFIX}_calls_in_flight",
            "Calls reserved and not yet answered by the PBX.",
            registry=registry,
        )
        self.pbx_pauses = Counter(
            f"{PREFIX}_pbx_pauses",
            "Times the PBX answered 429 and dialing was paused.",
            registry=registry,
        )
        self.slack_failures = Counter(
            f"{PREFIX}_slack_reply_failures",
            "Replies and views Slack did not take, by method.",
            ["method"],
            registry=registry,
        )
        for method in REPLY_METHODS:
            self.slack_failures.labels(method=method)
        self.caller_answers = Counter(
            f"{PREFIX}_caller_answers",
            "Callers' answers to 'did it ring?' (a changed answer counts again), by answer and "
            "the surface the call was placed from.",
            ["answer", "surface"],
            registry=registry,
        )
        for answer in CallerAnswer:
            for surface in ANSWER_SURFACES:
                self.caller_answers.labels(answer=answer.value, surface=surface)

    def watch_pbx_budget(self, ledger: BudgetLedger, rate: Rate) -> None:
        """Report the PBX budget (DIALER_PBX_RATE) and what is left of it, read at each scrape."""
        limit = Gauge(
            f"{PREFIX}_pbx_budget_limit",
            "Requests the app may send the PBX per window (DIALER_PBX_RATE's COUNT).",
            registry=self.registry,
        )
        limit.set(rate.count)
        left = Gauge(
            f"{PREFIX}_pbx_budget_remaining",
            "Requests the app may still send the PBX in the current sliding window.",
            registry=self.registry,
        )
        left.set_function(lambda: _budget_left(ledger, rate))

    # --- what the app records ---------------------------------------------------------------

    def dial_ended(self, surface: str, outcome: Outcome) -> None:
        """Count one attempt by its surface and outcome (and the outcome's kind)."""
        kind = OUTCOMES[outcome].kind.value
        self.dials.labels(surface=surface, outcome=outcome.value, kind=kind).inc()

    def pbx_answered(self, outcome: Outcome, seconds: float) -> None:
        """Time one request to the PBX, by how it ended."""
        self.pbx_seconds.labels(outcome=outcome.value).observe(seconds)

    def caller_answered(self, answer: CallerAnswer, surface: str) -> None:
        """Count one caller's answer (new or changed) by answer and the call's surface."""
        surface = surface if surface in ANSWER_SURFACES else "other"
        self.caller_answers.labels(answer=answer.value, surface=surface).inc()

    def pbx_paused(self) -> None:
        """Count one 429 from the PBX that paused dialing."""
        self.pbx_pauses.inc()

    @contextmanager
    def handling(self, kind: str) -> Iterator[None]:
        """While Bolt handles one Slack request: time its ack; Slack failures count here."""
        token = _CURRENT.set(self)
        began = time.perf_counter()
        try:
            yield
        finally:
            self.ack_seconds.labels(kind=kind).observe(time.perf_counter() - began)
            _CURRENT.reset(token)

    # --- what a scrape reads ----------------------------------------------------------------

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format (prometheus-client writes it)."""
        return generate_latest(self.registry)

    async def handle_scrape(self, request: web.Request) -> web.Response:
        """GET /metrics: the exposition, built off the event loop (the budget reads the store)."""
        body = await asyncio.to_thread(self.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


#: The metrics of the app handling the current Slack request (set by `Metrics.handling`);
#: listener tasks started during the request inherit it.
_CURRENT: ContextVar[Metrics | None] = ContextVar("metrics", default=None)


def slack_call_failed(method: str) -> None:
    """Count a Slack call that failed (one of REPLY_METHODS) for the request being handled."""
    metrics = _CURRENT.get()
    if metrics is not None:
        metrics.slack_failures.labels(method=method).inc()


def _budget_left(ledger: BudgetLedger, rate: Rate) -> float:
    """What the ledger says is left; NaN (and a log line) when the store cannot be read."""
    try:
        return float(ledger.pbx_budget_left(rate))
    except Exception as error:
        log.warning("metrics: could not read the PBX budget: %s", type(error).__name__)
        return math.nan


async def serve_metrics(metrics: Metrics, host: str, port: int) -> web.AppRunner:
    """Serve GET /metrics alone on host:port (Socket Mode's metrics port); answer the runner."""
    web_app = web.Application()
    web_app.add_routes([web.get(METRICS_PATH, metrics.handle_scrape)])
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host=host, port=port, reuse_address=True).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
