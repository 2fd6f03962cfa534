"""Scraping /metrics from the running bot: each attempt under its labels, no personal data.

In-process: HTTP mode's /metrics is served by the real web app on the harness's test server;
Socket Mode's by its own port (DIALER_METRICS_PORT), as in the process.
"""

from __future__ import annotations

import re
import sqlite3
import time
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from tests.botproc import free_port
from tests.inproc.harness import World
from tests.workspace import LINKED

NUMBER = "580-867-5309"
OTHER_NUMBER = "604-555-0143"
#: Every label value the bot uses comes from a fixed table of words: no digits, so no
#: number, extension or user ID (Slack's IDs always carry digits) can hide in one.
WORDS = re.compile(r"[A-Za-z_.]+")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Scrape:
    """One GET /metrics, parsed with prometheus-client's own parser."""

    def __init__(self, url: str) -> None:
        with urllib.request.urlopen(url, timeout=10) as response:
            self.status = response.status
            self.content_type = response.headers["Content-Type"]
            self.text = response.read().decode()
        self.samples: Samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        """One series' value, or None when there is no such series."""
        return self.samples.get((f"webfones_dialer_{name}", frozenset(labels.items())))

    def dials(self, surface: str, outcome: str, kind: str) -> float | None:
        """How many attempts from `surface` ended in `outcome` (of `kind`)."""
        return self.value("dials_total", surface=surface, outcome=outcome, kind=kind)

    def assert_no_personal_data(self) -> None:
        """No label value is a user ID, a number or an extension; none appears anywhere."""
        for name, labels in self.samples:
            for key, label in labels:
                if key != "le":  # a histogram bucket's bound
                    assert WORDS.fullmatch(label), f"{name} has {key}={label!r}"
        for user, extension in LINKED.items():
            assert user not in self.text and f'"{extension}"' not in self.text
        assert "5808675309" not in self.text and "6045550143" not in self.text


def scrape_until(url: str, ready: Callable[[Scrape], bool], timeout: float = 10.0) -> Scrape:
    """Scrape until `ready` holds (a reply's failure is counted just after Slack answers)."""
    deadline = time.monotonic() + timeout
    scrape = Scrape(url)
    while not ready(scrape) and time.monotonic() < deadline:
        time.sleep(0.05)
        scrape = Scrape(url)
    return scrape


def metrics_url(world: World) -> str:
    """Where HTTP mode serves /metrics: beside Slack's request URL, on PORT."""
    return world.url.replace("/slack/events", "/metrics")


def sent_to_pbx(db_path: str) -> int:
    """Rows of the audit log that count against the PBX budget (read straight from SQLite)."""
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT count(*) FROM calls WHERE sent = 1").fetchone()[0]


def assert_three_attempts_counted(scrape: Scrape, db_path: str, commands: int) -> None:
    """A placed call, a refused one and a PBX failure, each under its own labels."""
    assert scrape.status == 200 and scrape.content_type.startswith("text/plain")
    assert scrape.dials("slash", "placed", "call") == 1
    assert scrape.dials("slash", "refused_not_understood", "refused") == 1
    assert scrape.dials("slash", "pbx_error", "failure") == 1
    assert scrape.value("pbx_request_duration_seconds_count", outcome="placed") == 1
    assert scrape.value("pbx_request_duration_seconds_count", outcome="pbx_error") == 1
    assert scrape.value("ack_duration_seconds_count", kind="command") == commands
    assert scrape.value("calls_in_flight") == 0
    assert scrape.value("pbx_budget_limit") == 1000
    assert scrape.value("pbx_budget_remaining") == 1000 - sent_to_pbx(db_path)
    assert scrape.value("pbx_pauses_total") == 0
    scrape.assert_no_personal_data()


def test_http_mode_counts_a_placed_a_refused_and_a_failed_call(world: World) -> None:
    _, _, placed = world.dial(NUMBER)
    assert "ringing" in world.final_reply(placed)
    _, refused, _ = world.dial("call mom please")
    assert "call mom please" in refused["text"]
    world.pbx.fail_next(500, {"error": "Internal server error"})
    _, _, failed = world.dial(OTHER_NUMBER, user="UBOB00001")
    assert "had a problem" in world.final_reply(failed)

    scrape = Scrape(metrics_url(world))
    assert_three_attempts_counted(scrape, world.db_path, commands=3)  # the three dials
    assert sent_to_pbx(world.db_path) == 2  # the refusal spent nothing


def test_a_429_pause_and_a_reply_slack_refused_are_counted(world: World) -> None:
    url = metrics_url(world)
    world.slack.response_status = 404  # the response_url expired
    _, _, placed = world.dial(NUMBER)
    world.slack.wait_for_posts(placed)
    world.slack.response_status = 200
    world.pbx.fail_next(429, {"error": "Too many requests"}, headers={"Retry-After": "120"})
    _, _, limited = world.dial(OTHER_NUMBER, user="UBOB00001")
    assert "2 minutes" in world.final_reply(limited)
    _, held, _ = world.dial(OTHER_NUMBER, user="UCAROL001")
    assert "asked me to slow down" in held["text"]

    scrape = scrape_until(
        url, lambda s: s.value("slack_reply_failures_total", method="response_url") == 1
    )
    assert scrape.value("slack_reply_failures_total", method="response_url") == 1
    assert scrape.value("slack_reply_failures_total", method="views.update") == 0
    assert scrape.value("pbx_pauses_total") == 1
    assert scrape.dials("slash", "rate_limited", "failure") == 1
    assert scrape.dials("slash", "held_pbx_cooldown", "held") == 1
    scrape.assert_no_personal_data()


def test_socket_mode_serves_metrics_only_on_the_metrics_port(socket_world: World) -> None:
    assert "metrics:" not in socket_world.log  # off unless DIALER_METRICS_PORT is set
    port = free_port()
    socket_world.restart(DIALER_METRICS_PORT=str(port))
    url = f"http://127.0.0.1:{port}/metrics"
    assert f"metrics: GET {url}" in socket_world.log

    socket_world.pbx.latency = 1.0
    _, ack, placed = socket_world.dial(NUMBER)
    assert "Calling" in ack["text"]
    busy = Scrape(url)  # the PBX is still working on the call
    assert busy.value("calls_in_flight") == 1
    assert "ringing" in socket_world.final_reply(placed)
    socket_world.pbx.latency = 0.0
    _, refused, _ = socket_world.dial("call mom please")
    assert "call mom please" in refused["text"]
    socket_world.pbx.fail_next(500, {"error": "Internal server error"})
    _, _, failed = socket_world.dial(OTHER_NUMBER, user="UBOB00001")
    assert "had a problem" in socket_world.final_reply(failed)

    # The links were made before the restart: these metrics have seen the three dials.
    assert_three_attempts_counted(Scrape(url), socket_world.db_path, commands=3)
