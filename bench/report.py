"""Results: one table, the targets as pass/miss, the machine, and BENCHMARKS.md."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version

from bench.load import Request

ACK_P99_TARGET = 0.250
FINAL_TARGET = 4.0
READY_TARGET = 2.0
RSS_TARGET_MB = 100.0


@dataclass
class PhaseResult:
    """Everything measured for one app in one mode."""

    mode: str
    app: str
    n: int
    latency: float
    requests: list[Request] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    ready_seconds: float | None = None
    idle_rss_kb: int | None = None
    peak_rss_kb: int | None = None
    send_spread: float = 0.0
    cpu_seconds: float = 0.0
    api_calls: Counter[str] = field(default_factory=Counter)
    phase_seconds: float = 0.0
    error: str = ""

    @property
    def acked(self) -> int:
        """Requests acked (successfully) within 3 s."""
        return sum(r.acked_in_time for r in self.requests)

    @property
    def finals_in_time(self) -> int:
        """Requests whose final reply came within 4 s of the request."""
        return sum(
            r.final_seconds is not None and r.final_seconds <= FINAL_TARGET for r in self.requests
        )

    @property
    def placed(self) -> int:
        """Users the PBX placed at least one call for."""
        return sum(1 for count in self.calls.values() if count >= 1)

    @property
    def duplicates(self) -> int:
        """Users the PBX placed more than one call for."""
        return sum(1 for count in self.calls.values() if count > 1)

    @property
    def exactly_once(self) -> int:
        """Users the PBX placed exactly one call for."""
        return sum(1 for count in self.calls.values() if count == 1)

    def ack_times(self) -> list[float | None]:
        """Successful ack latencies, None for requests never (successfully) acked."""
        return [r.ack_seconds for r in self.requests]

    def final_times(self) -> list[float | None]:
        """Final reply latencies, None where no final reply came."""
        return [r.final_seconds for r in self.requests]


def percentile(values: list[float | None], pct: float) -> float | None:
    """Nearest-rank percentile where None (never happened) ranks after every number."""
    if not values:
        return None
    ranked = sorted(values, key=lambda v: (v is None, v or 0.0))
    return ranked[max(0, math.ceil(pct / 100 * len(ranked)) - 1)]


def _ms(value: float | None) -> str:
    if value is None:
        return "never"
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


def _mb(kb: int | None) -> str:
    return "?" if kb is None else f"{kb * 1024 / 1e6:.0f}"


HEADER = (
    "| mode | app | acked ≤3 s | ack p50 | ack p99 | ack max | final p50 | final max "
    "| final ≤4 s | calls placed | duplicates | ready | RSS idle / peak (MB) |"
)


def table(results: list[PhaseResult]) -> str:
    """The one table: rows mode × app."""
    lines = [HEADER, "|" + " --- |" * HEADER.count(" | ") + " --- |"]
    for r in results:
        if r.error:
            lines.append(f"| {r.mode} | {r.app} | failed: {r.error} |" + " |" * 11)
            continue
        acks, finals = r.ack_times(), r.final_times()
        ready = "?" if r.ready_seconds is None else f"{r.ready_seconds:.2f} s"
        cells = [
            r.mode,
            r.app,
            f"{r.acked}/{r.n}",
            _ms(percentile(acks, 50)),
            _ms(percentile(acks, 99)),
            _ms(percentile(acks, 100)),
            _ms(percentile(finals, 50)),
            _ms(percentile(finals, 100)),
            f"{r.finals_in_time}/{r.n}",
            f"{r.placed}/{r.n}",
            str(r.duplicates),
            ready,
            f"{_mb(r.idle_rss_kb)} / {_mb(r.peak_rss_kb)}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(result: PhaseResult) -> list[tuple[str, bool, str]]:
    """Each target as (what, met, the measured value)."""
    r, n = result, result.n
    p99 = percentile(r.ack_times(), 99)
    peak_mb = None if r.peak_rss_kb is None else r.peak_rss_kb * 1024 / 1e6
    ready = r.ready_seconds
    return [
        (f"{n}/{n} acked within 3 s", r.acked == n, f"{r.acked}/{n}"),
        ("p99 ack < 250 ms", p99 is not None and p99 < ACK_P99_TARGET, _ms(p99)),
        (
            f"{n}/{n} placed exactly once",
            r.exactly_once == n and r.duplicates == 0,
            f"{r.exactly_once}/{n} once, {r.duplicates} duplicated",
        ),
        ("every final reply within 4 s", r.finals_in_time == n, f"{r.finals_in_time}/{n}"),
        ("ready within 2 s", ready is not None and ready < READY_TARGET, _ms(ready)),
        (
            "RSS < 100 MB (peak under load)",
            peak_mb is not None and peak_mb < RSS_TARGET_MB,
            f"{peak_mb:.0f} MB" if peak_mb is not None else "?",
        ),
    ]


def targets_text(results: list[PhaseResult]) -> str:
    """Pass/miss per target for every row, as a markdown list."""
    lines = []
    for r in results:
        if r.error:
            lines.append(f"- **{r.mode} / {r.app}**: run failed ({r.error})")
            continue
        marks = [f"{'PASS' if ok else 'MISS'} {what} ({value})" for what, ok, value in targets(r)]
        lines.append(f"- **{r.mode} / {r.app}**: " + "; ".join(marks))
    return "\n".join(lines)


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every number."""
    try:
        with open("/proc/loadavg") as loadavg:
            return loadavg.read().split()[0]
    except OSError:
        return "?"


def code_under_test() -> str:
    """The commit the app ran from, and whether bot/ had uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit}" + (" with uncommitted changes in bot/" if dirty else "")


def machine(load_before: str) -> dict[str, str]:
    """What this ran on: CPUs, CPU model, memory, Python and library versions, date, load."""
    model = "unknown"
    memory = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                model,
            )
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    libs = ", ".join(
        f"{name} {version(name)}" for name in ("slack_bolt", "slack_sdk", "aiohttp", "httpx")
    )
    return {
        "CPUs (nproc)": str(cpus),
        "CPU model": model,
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "libraries": libs,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load average (1 min) before / after the run": f"{load_before} / {load_average()}",
        "code under test": code_under_test(),
    }


def details(results: list[PhaseResult]) -> str:
    """Per-row facts behind the table: send spread, ack failures, auth.test calls, run time."""
    lines = []
    for r in results:
        if r.error:
            continue
        problems = Counter(q.ack_problem for q in r.requests if q.ack_problem)
        late = sum(1 for q in r.requests if q.ack_seconds is not None and q.ack_seconds > 3)
        parts = [
            f"requests left over {r.send_spread * 1000:.0f} ms",
            f"app used {r.cpu_seconds:.2f} s of CPU from the burst to the last reply",
            "Slack Web API calls during the burst: "
            + (", ".join(f"{m} ×{c}" for m, c in sorted(r.api_calls.items())) or "none"),
            f"phase took {r.phase_seconds:.1f} s",
        ]
        if late:
            parts.append(f"{late} acked but after 3 s")
        if problems:
            parts.append(
                "not acked: " + ", ".join(f"{count}× {what}" for what, count in problems.items())
            )
        lines.append(f"- {r.mode} / {r.app}: " + "; ".join(parts))
    return "\n".join(lines)


KEEP_MARKER = (
    "<!-- Everything below this line is kept when `python -m bench` refreshes the file. -->"
)

HOW_MEASURED = """\
How it is measured (all on loopback, nothing leaves the machine):

- Each row starts a fresh app process (ours: `python -m bot`; baseline: `bench/baseline_app.py`)
  with a fresh fake PBX (`tests/fakes/pbx.py`, latency as above), fake Slack Web API and
  response_url catcher (`tests/fakes/slack.py`) and, in Socket Mode, the fake Socket Mode server
  (`tests/fakes/socket_mode.py`). N users are linked before start (ours: straight into SQLite;
  baseline: `BASELINE_LINKS`); rate budgets are set far above N. One `/dial help` warms the app up.
- **HTTP**: N signed `/dial` form posts fired at once from a separate load process (raw asyncio
  sockets, one connection each, so the fakes' threads and the client's own overhead stay out of
  the numbers). **ack** = time from opening the connection to a complete `200` response; a non-200
  answer or no answer within 10 s is "never".
- **Socket Mode**: N `slash_commands` envelopes sent back to back on the one WebSocket. **ack** =
  time from each envelope's actual send to its envelope ack arriving (`FakeSocketMode.ack_latency`);
  no ack within 10 s is "never".
- **acked ≤3 s** is what Slack needs; later or failed acks show the user `operation_timeout`.
- **final** = time from the request to the first post on its response_url; the phase waits for all
  of them for at most the phase timeout, then the app is stopped (ours: SIGTERM; baseline: SIGKILL).
- **calls placed** = users the fake PBX placed at least one call for; **duplicates** = users it
  placed more than one call for.
- **ready** = process start to the "ready:" log line (ours) or to the port accepting / the
  WebSocket connecting (baseline). **RSS** = VmRSS from /proc: idle after warm-up, and the peak of
  samples taken every 50 ms from the burst to the last reply.
- Percentiles are nearest-rank over all N requests; a request that never got a (successful)
  ack or final reply ranks last, so a "never" p99 means more than 1% never got one.
"""

WHY_BASELINE = """\
Why the baseline misses (the traps DESIGN.md warns about, measured):

- Bolt's sync `App` runs listeners on a pool of 5 threads. The baseline acks and then holds its
  thread through the PBX call, so only 5 `/dial`s are served per PBX latency (2 s): 5 acks at
  once, 5 more ~2 s later, then the 3 s deadline has passed for everyone else.
- Bolt waits at most 3 s for `ack()`; past that the dispatch gives up (HTTP: an error response or
  none; Socket Mode: no envelope ack) while the listener is still queued. It runs later anyway,
  so the PBX keeps placing calls for requests Slack already showed as failed. "calls placed"
  is whatever it got through before the phase timeout killed it.
- HTTP mode adds `app.start()`'s single-threaded `http.server` (listen backlog 5): requests queue
  behind each other's 3 s ack wait and most clients time out before they are even read.
"""


def markdown(
    results: list[PhaseResult], command: str, elapsed: float, load_before: str, kept: str
) -> str:
    """BENCHMARKS.md: the table, targets, machine, command and notes; `kept` is appended."""
    facts = "\n".join(f"- {name}: {value}" for name, value in machine(load_before).items())
    n = results[0].n if results else 0
    latency = results[0].latency if results else 0.0
    return f"""# Benchmarks: N concurrent `/dial` against a slow PBX

Generated by `python -m bench` (see `bench/`); refresh it by running the command again from the
repository root with the project's virtualenv active. It starts our app and a baseline written
the way Bolt's getting-started guide reads (`bench/baseline_app.py`), in HTTP mode and in Socket
Mode, and fires {n} concurrent `/dial` from {n} linked users at each, against a fake PBX that
takes {latency:g} s to answer.

```
{command}
```

{table(results)}

Targets (N={n}, PBX {latency:g} s; reported, not asserted):

{targets_text(results)}

Details:

{details(results)}

Machine (whole run took {elapsed:.0f} s):

{facts}

{HOW_MEASURED}
{WHY_BASELINE}
{KEEP_MARKER}
{kept}"""


def kept_notes(path: str) -> str:
    """The hand-written part of an existing BENCHMARKS.md (below the marker), if any."""
    try:
        with open(path) as existing:
            text = existing.read()
    except OSError:
        return ""
    _, marker, tail = text.partition(KEEP_MARKER)
    return tail.lstrip("\n") if marker else ""
