"""Results: per-round phases, their medians per (mode, app, burst), the targets, BENCHMARKS.md."""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.load import ACK_DEADLINE, Request

#: Issue 16's Done-when, for a burst of 500 against a 2 s PBX (reported, not asserted).
FLOOR_RATIO_TARGET = 2.0
SOCKET_ACK_P99_TARGET = 0.600
CPU_PER_DIAL_TARGET_MS = 3.0
CPU_GROWTH_TARGET = 1.5
FINAL_P50_TARGET = 6.0

#: The order apps appear in within a table: ours first, then what it is compared with.
APP_ORDER = ("ours", "replicas", "before", "bolt-floor", "floor", "baseline")
#: Apps that dial: they have final replies and PBX calls (the floors only ack).
DIALING_APPS = frozenset({"ours", "replicas", "before", "baseline"})


@dataclass
class PhaseResult:
    """Everything measured for one app, in one mode, at one burst size, in one round."""

    mode: str
    app: str
    n: int
    latency: float
    round: int = 1
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
    def dials(self) -> bool:
        """Whether this app places calls and replies (every app but the floor)."""
        return self.app in DIALING_APPS

    @property
    def acked(self) -> int:
        """Requests acked (successfully) within 3 s."""
        return sum(r.acked_in_time for r in self.requests)

    @property
    def finals(self) -> int:
        """Requests whose final reply came before the phase ended."""
        return sum(r.final_seconds is not None for r in self.requests)

    @property
    def duplicates(self) -> int:
        """Users the PBX placed more than one call for."""
        return sum(1 for count in self.calls.values() if count > 1)

    @property
    def exactly_once(self) -> int:
        """Users the PBX placed exactly one call for."""
        return sum(1 for count in self.calls.values() if count == 1)

    def ack_percentile(self, pct: float) -> float | None:
        """Nearest-rank percentile of the ack latencies ("never" ranks last)."""
        return percentile([r.ack_seconds for r in self.requests], pct)

    def final_percentile(self, pct: float) -> float | None:
        """Nearest-rank percentile of the final-reply latencies ("never" ranks last)."""
        return percentile([r.final_seconds for r in self.requests], pct)

    @property
    def cpu_per_dial_ms(self) -> float:
        """The app's CPU from the burst to its last reply (the floor: last ack), ÷ N, in ms."""
        return self.cpu_seconds / self.n * 1000 if self.n else 0.0


def percentile(values: Sequence[float | None], pct: float) -> float | None:
    """Nearest-rank percentile where None (never happened) ranks after every number."""
    if not values:
        return None
    ranked = sorted(values, key=lambda v: (v is None, v or 0.0))
    return ranked[max(0, math.ceil(pct / 100 * len(ranked)) - 1)]


def median(values: Sequence[float | None]) -> float | None:
    """The median across rounds, where None ("never") ranks after every number.

    With an even count it is the mean of the middle two, or None if either of them is None:
    a round that never got there is not averaged away.
    """
    if not values:
        return None
    ranked = sorted(values, key=lambda v: (v is None, v or 0.0))
    middle = len(ranked) // 2
    if len(ranked) % 2:
        return ranked[middle]
    low, high = ranked[middle - 1], ranked[middle]
    return None if low is None or high is None else (low + high) / 2


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator ÷ denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


@dataclass
class Summary:
    """One (mode, app, burst size) across its rounds: medians, and the worst round for counts."""

    mode: str
    app: str
    n: int
    phases: list[PhaseResult]
    floor_ratio: float | None = None
    cpu_growth: float | None = None
    smallest_n: int | None = None

    @property
    def ok(self) -> list[PhaseResult]:
        """The rounds that ran to the end (no start-up or harness failure)."""
        return [p for p in self.phases if not p.error]

    @property
    def dials(self) -> bool:
        """Whether the app places calls (every app but the floor)."""
        return self.app in DIALING_APPS

    def _median(self, measure: Callable[[PhaseResult], float | None]) -> float | None:
        return median([measure(p) for p in self.ok]) if self.ok else None

    @property
    def ack_p50(self) -> float | None:
        """Median across rounds of each round's ack p50."""
        return self._median(lambda p: p.ack_percentile(50))

    @property
    def ack_p99(self) -> float | None:
        """Median across rounds of each round's ack p99."""
        return self._median(lambda p: p.ack_percentile(99))

    @property
    def final_p50(self) -> float | None:
        """Median across rounds of each round's final-reply p50."""
        return self._median(lambda p: p.final_percentile(50))

    @property
    def final_max(self) -> float | None:
        """Median across rounds of each round's slowest final reply."""
        return self._median(lambda p: p.final_percentile(100))

    @property
    def cpu_per_dial_ms(self) -> float | None:
        """Median across rounds of CPU per dial, in ms."""
        return self._median(lambda p: p.cpu_per_dial_ms)

    @property
    def ready(self) -> float | None:
        """Median seconds from process start to ready."""
        return self._median(lambda p: p.ready_seconds)

    @property
    def peak_rss_kb(self) -> float | None:
        """Median peak RSS under the burst."""
        return self._median(lambda p: None if p.peak_rss_kb is None else float(p.peak_rss_kb))

    @property
    def acked_worst(self) -> int | None:
        """Fewest requests acked within 3 s in any round."""
        return min((p.acked for p in self.ok), default=None)

    @property
    def once_worst(self) -> int | None:
        """Fewest users placed exactly once in any round."""
        return min((p.exactly_once for p in self.ok), default=None)

    @property
    def duplicates_worst(self) -> int | None:
        """Most users placed more than once in any round."""
        return max((p.duplicates for p in self.ok), default=None)


def summarize(results: Sequence[PhaseResult]) -> list[Summary]:
    """Group the phases by (mode, app, N); add the floor ratio and the CPU growth with N."""
    groups: dict[tuple[str, str, int], list[PhaseResult]] = {}
    for result in results:
        groups.setdefault((result.mode, result.app, result.n), []).append(result)
    summaries = {key: Summary(*key, phases=phases) for key, phases in groups.items()}
    sizes = sorted({n for _, _, n in summaries})
    for (mode, app, n), summary in summaries.items():
        floor = summaries.get((mode, "floor", n))
        if floor is not None and app in ("ours", "before", "bolt-floor"):
            summary.floor_ratio = ratio(summary.ack_p99, floor.ack_p99)
        smallest = next((s for s in sizes if (mode, app, s) in summaries), None)
        if smallest is not None and smallest != n:
            summary.smallest_n = smallest
            summary.cpu_growth = ratio(
                summary.cpu_per_dial_ms, summaries[(mode, app, smallest)].cpu_per_dial_ms
            )

    def order(key: tuple[str, str, int]) -> tuple[int, str, int]:
        mode, app, n = key
        rank = APP_ORDER.index(app) if app in APP_ORDER else len(APP_ORDER)
        return n, mode, rank

    return [summaries[key] for key in sorted(summaries, key=order)]


def _ms(value: float | None) -> str:
    if value is None:
        return "never"
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


def _cpu(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} ms"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


HEADER = (
    "| mode | app | rounds | acked ≤3 s (worst round) | ack p50 | ack p99 | ack p99 ÷ floor's "
    "| final p50 | final max | placed once / duplicates (worst round) | CPU per dial |"
)


def _row(s: Summary) -> str:
    """One table row; cells that do not apply to the app read "–"."""
    rounds = f"{len(s.ok)}/{len(s.phases)}"
    if not s.ok:
        errors = "; ".join(sorted({p.error for p in s.phases}))
        return f"| {s.mode} | {s.app} | {rounds} | failed: {errors} |" + " |" * 7
    dash = "–"
    cells = [
        s.mode,
        s.app,
        rounds,
        f"{s.acked_worst}/{s.n}",
        _ms(s.ack_p50),
        _ms(s.ack_p99),
        _times(s.floor_ratio),
        _ms(s.final_p50) if s.dials else dash,
        _ms(s.final_max) if s.dials else dash,
        f"{s.once_worst}/{s.n} / {s.duplicates_worst}" if s.dials else dash,
        _cpu(s.cpu_per_dial_ms),
    ]
    return "| " + " | ".join(cells) + " |"


def tables(summaries: Sequence[Summary]) -> str:
    """One table per burst size, rows mode × app, medians across rounds."""
    blocks = []
    for n in sorted({s.n for s in summaries}):
        lines = [f"Burst of {n}:", "", HEADER, "|" + " --- |" * (HEADER.count(" | ") + 1)]
        lines += [_row(s) for s in summaries if s.n == n]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def targets(summary: Summary) -> list[tuple[str, bool, str]]:
    """Issue 16's Done-when for one (mode, app, N) of ours: (what, met, the measured value)."""
    s, n = summary, summary.n
    marks = [
        (
            "every dial acked within 3 s in every round",
            s.acked_worst == n,
            f"worst round {s.acked_worst}/{n}",
        ),
        (
            "placed exactly once in every round",
            s.once_worst == n and s.duplicates_worst == 0,
            f"worst round {s.once_worst}/{n} once, {s.duplicates_worst} duplicated",
        ),
    ]
    if s.mode == "http":
        marks.append(
            (
                f"ack p99 ≤ {FLOOR_RATIO_TARGET:g}× the floor's",
                s.floor_ratio is not None and s.floor_ratio <= FLOOR_RATIO_TARGET,
                f"{_times(s.floor_ratio)}, {_ms(s.ack_p99)}",
            )
        )
    else:
        marks.append(
            (
                f"ack p99 ≤ {SOCKET_ACK_P99_TARGET * 1000:.0f} ms",
                s.ack_p99 is not None and s.ack_p99 <= SOCKET_ACK_P99_TARGET,
                _ms(s.ack_p99),
            )
        )
    cpu = s.cpu_per_dial_ms
    marks.append(
        (
            f"CPU per dial ≤ {CPU_PER_DIAL_TARGET_MS:g} ms",
            cpu is not None and cpu <= CPU_PER_DIAL_TARGET_MS,
            _cpu(cpu),
        )
    )
    if s.smallest_n is not None:
        marks.append(
            (
                f"CPU per dial ≤ {CPU_GROWTH_TARGET:g}× its value at {s.smallest_n}",
                s.cpu_growth is not None and s.cpu_growth <= CPU_GROWTH_TARGET,
                _times(s.cpu_growth),
            )
        )
    marks.append(
        (
            f"final reply p50 ≤ {FINAL_P50_TARGET:g} s",
            s.final_p50 is not None and s.final_p50 <= FINAL_P50_TARGET,
            _ms(s.final_p50),
        )
    )
    return marks


def targets_text(summaries: Sequence[Summary]) -> str:
    """PASS/MISS per target for ours (and before), per mode and burst size, as a markdown list."""
    lines = []
    for s in summaries:
        if s.app not in ("ours", "before"):
            continue
        if not s.ok:
            lines.append(f"- **{s.mode}, {s.n}, {s.app}**: every round failed")
            continue
        marks = [f"{'PASS' if ok else 'MISS'} {what} ({value})" for what, ok, value in targets(s)]
        lines.append(f"- **{s.mode}, {s.n}, {s.app}**: " + "; ".join(marks))
    return "\n".join(lines)


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every number."""
    try:
        with open("/proc/loadavg") as loadavg:
            return loadavg.read().split()[0]
    except OSError:
        return "?"


def code_under_test(checkout: Path | None = None) -> str:
    """The commit a checkout is at, and whether its bot/ had uncommitted changes."""
    where = {"cwd": checkout} if checkout is not None else {}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            **where,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"], capture_output=True, text=True, **where
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit}" + (" with uncommitted changes in bot/" if dirty else "")


def machine(load_before: str, before: Path | None = None) -> dict[str, str]:
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
    facts = {
        "CPUs (nproc)": str(cpus),
        "CPU model": model,
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "libraries": libs,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load average (1 min) before / after the run": f"{load_before} / {load_average()}",
        "code under test (ours)": code_under_test(),
    }
    if before is not None:
        facts["code under test (before)"] = code_under_test(before)
    return facts


def details(summaries: Sequence[Summary]) -> str:
    """Per (mode, N, app): each round's p99, ready, RSS, send spread, failures, run time."""
    lines = []
    for s in summaries:
        if not s.ok:
            continue
        p99s = ", ".join(_ms(p.ack_percentile(99)) for p in s.ok)
        phases = [p.phase_seconds for p in s.ok]
        parts = [
            f"ack p99 per round {p99s}",
            f"ready {_ms(s.ready)}",
            f"RSS peak {(s.peak_rss_kb or 0) * 1024 / 1e6:.0f} MB",
            f"requests left over {statistics.median(p.send_spread for p in s.ok) * 1000:.0f} ms",
            f"a phase took {statistics.median(phases):.1f} s",
        ]
        if s.dials:
            finals = min(p.finals for p in s.ok)
            if finals < s.n:
                parts.append(
                    f"worst round: {finals}/{s.n} final replies before the phase cap "
                    "(CPU per dial counts up to the cap)"
                )
            api = Counter[str]()
            for p in s.ok:
                api.update(p.api_calls)
            if api:
                parts.append(
                    "Slack Web API calls during the bursts: "
                    + ", ".join(f"{m} ×{c}" for m, c in sorted(api.items()))
                )
        late = sum(
            1
            for p in s.ok
            for q in p.requests
            if q.ack_seconds is not None and q.ack_seconds > ACK_DEADLINE
        )
        if late:
            parts.append(f"{late} acked but after 3 s (all rounds)")
        problems = Counter(q.ack_problem for p in s.ok for q in p.requests if q.ack_problem)
        if problems:
            parts.append(
                "not acked (all rounds): "
                + ", ".join(f"{count}× {what}" for what, count in problems.items())
            )
        failed = [p for p in s.phases if p.error]
        if failed:
            parts.append("failed rounds: " + "; ".join(f"{p.round}: {p.error}" for p in failed))
        lines.append(f"- {s.mode}, {s.n}, {s.app}: " + "; ".join(parts))
    return "\n".join(lines)


KEEP_MARKER = (
    "<!-- Everything below this line is kept when `python -m bench` refreshes the file. -->"
)

HOW_MEASURED = """\
How it is measured (all on loopback, nothing leaves the machine):

- **Rounds.** Each round runs every app at every burst size in every mode, one phase at a time,
  the apps' order rotated from round to round, so that whatever else the machine is doing hits
  every app alike. Each figure in the tables is the median of that app's rounds (with an even
  number of rounds, the mean of the middle two); the counts are the worst round's. The baseline
  runs in every round up to `--baseline-once-above` (default 200) and only in the first round
  above it, as each of its phases waits out the whole phase cap: see "rounds".
- **Apps.** *ours* is `python -m bot` from this checkout; *before* (with `--before DIR`) is
  `python -m bot` started in another checkout with `PYTHONPATH=DIR`, so its own code runs
  (e.g. a `git worktree` of the commit before a change); *baseline* is `bench/baseline_app.py`,
  `/dial` written the way Bolt's getting-started guide reads; *floor* is `bench/floor_app.py`,
  a bare aiohttp server (same listen backlog as ours) that checks the Slack signature with
  slack_sdk's `SignatureVerifier` and answers `200` at once: what any app must spend on a
  request on this machine under this load; *bolt-floor* is `bench/bolt_floor_app.py`, Bolt's
  `AsyncApp` on its aiohttp adapter with a `/dial` that acks at once: what Bolt itself adds
  (its request parsing, middleware and listener dispatch) before any listener's work. The floors
  are HTTP only: there is no floor for Socket Mode.
- **Each phase** starts a fresh app process with a fresh fake PBX (`tests/fakes/pbx.py`, latency
  as above), fake Slack Web API and response_url catcher (`tests/fakes/slack.py`) and, in Socket
  Mode, the fake Socket Mode server (`tests/fakes/socket_mode.py`). N users are linked before
  start (ours and before: straight into SQLite, by each checkout's own `bench.run.write_links`;
  baseline: `BASELINE_LINKS`); rate budgets are set far above N. One `/dial help` warms the app
  up, then N `/dial` from N users go out at once.
- **HTTP**: N signed `/dial` form posts fired at once from a separate load process (raw asyncio
  sockets, one connection each, so the fakes' threads and the client's own overhead stay out of
  the numbers). **ack** = time from opening the connection to a complete `200` response; a non-200
  answer or no answer within 10 s is "never".
- **Socket Mode**: N `slash_commands` envelopes sent back to back on the one WebSocket. **ack** =
  time from each envelope's actual send to its envelope ack arriving (`FakeSocketMode.ack_latency`);
  no ack within 10 s is "never".
- **acked ≤3 s** is what Slack needs; later or failed acks show the user `operation_timeout`.
- **ack p99 ÷ floor's** = the median of ours' (or before's, or bolt-floor's) p99 over the median
  of the floor's, all from the same rounds.
- **final** = time from the request to the first post on its response_url; the phase waits for all
  of them for at most the phase cap (`--phase-timeout`, default 30 s, from the burst), then the
  app is stopped (ours: SIGTERM; baseline and the floors: SIGKILL).
- **placed once / duplicates** = users the fake PBX placed exactly one call for / more than one.
- **CPU per dial** = the app process's user + system CPU time (from /proc) from the burst to the
  last final reply (the floors: to the last ack; an app that misses replies: to the phase cap),
  divided by N.
- Percentiles are nearest-rank over all N requests of a round; a request that never got a
  (successful) ack or final reply ranks last, so a "never" p99 means more than 1% never got one.
  Under "Details": each round's p99, the median time to ready (process start to the "ready:"
  log line, or to the port accepting / the WebSocket connecting) and the median peak RSS
  (VmRSS sampled every 50 ms during the burst).
"""

WHY_BASELINE = """\
Why the baseline misses (the traps DESIGN.md warns about, measured):

- Bolt's sync `App` runs listeners on a pool of 5 threads. The baseline acks and then holds its
  thread through the PBX call, so only 5 `/dial`s are served per PBX latency (2 s): 5 acks at
  once, 5 more ~2 s later, then the 3 s deadline has passed for everyone else.
- Bolt waits at most 3 s for `ack()`; past that the dispatch gives up (HTTP: an error response or
  none; Socket Mode: no envelope ack) while the listener is still queued. It runs later anyway,
  so the PBX keeps placing calls for requests Slack already showed as failed. "placed once"
  is whatever it got through before the phase cap killed it.
- HTTP mode adds `app.start()`'s single-threaded `http.server` (listen backlog 5): requests queue
  behind each other's 3 s ack wait and most clients time out before they are even read.
"""


APP_MODES = {"http": "HTTP mode", "socket": "Socket Mode"}
APP_WORDS = {
    "ours": "our app (*ours*)",
    "replicas": "our app as three replicas on one PostgreSQL, behind a round-robin proxy in "
    "HTTP mode, on one Socket Mode app in Socket Mode (*replicas*)",
    "before": "our app from another checkout (*before*)",
    "floor": "a floor that checks the signature and answers at once (*floor*, HTTP only)",
    "bolt-floor": "Bolt's AsyncApp with a /dial that acks at once (*bolt-floor*, HTTP only)",
    "baseline": "a baseline written the way Bolt's getting-started guide reads (*baseline*)",
}


def markdown(
    results: Sequence[PhaseResult],
    command: str,
    elapsed: float,
    load_before: str,
    kept: str,
    before: Path | None = None,
) -> str:
    """BENCHMARKS.md: the tables, targets, machine, command and notes; `kept` is appended."""
    summaries = summarize(results)
    facts = "\n".join(f"- {name}: {value}" for name, value in machine(load_before, before).items())
    sizes = ", ".join(str(n) for n in sorted({r.n for r in results})) or "?"
    rounds = max((r.round for r in results), default=0)
    latency = results[0].latency if results else 0.0
    modes = " and ".join(
        APP_MODES[m] for m in ("http", "socket") if any(r.mode == m for r in results)
    )
    rounds_text = "1 round" if rounds == 1 else f"{rounds} interleaved rounds"
    present = {r.app for r in results}
    apps = ", ".join(APP_WORDS[app] for app in APP_ORDER if app in present) or "no app"
    return f"""# Benchmarks: bursts of concurrent `/dial` against a slow PBX

Generated by `python -m bench` (see `bench/`); refresh it by running the command again from the
repository root with the project's virtualenv active. In {rounds_text} it fires
bursts of {sizes} concurrent `/dial` from as many linked users, in {modes}, at: {apps}; against
a fake PBX that takes {latency:g} s to answer. Figures are medians across rounds.

```
{command}
```

{tables(summaries)}

Targets (issue 16's Done-when, set for a burst of 500 against a 2 s PBX; shown for every size;
reported, not asserted):

{targets_text(summaries)}

Details (medians across rounds unless marked):

{details(summaries)}

Machine (whole run took {elapsed / 60:.1f} min):

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
