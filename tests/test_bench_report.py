"""The benchmark's arithmetic: percentiles, medians across rounds, the floor ratio, the targets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench import report
from bench.load import Request
from bench.run import command_line, parse_args, schedule


def phase(
    app: str,
    n: int,
    acks: list[float | None],
    *,
    mode: str = "http",
    finals: list[float | None] | None = None,
    cpu_seconds: float = 0.0,
    calls: dict[str, int] | None = None,
    round_number: int = 1,
) -> report.PhaseResult:
    """One measured phase with the given ack and final-reply latencies."""
    finals = finals if finals is not None else [None] * len(acks)
    requests = [
        Request(f"U{i}", str(2000 + i), "580-867-5000", "", ack_seconds=a, final_seconds=f)
        for i, (a, f) in enumerate(zip(acks, finals, strict=True))
    ]
    if calls is None:
        calls = {r.extension: 1 for r in requests} if app in report.DIALING_APPS else {}
    return report.PhaseResult(
        mode=mode,
        app=app,
        n=n,
        latency=2.0,
        round=round_number,
        requests=requests,
        calls=Counter(calls),
        cpu_seconds=cpu_seconds,
    )


def test_percentile_is_nearest_rank_and_never_ranks_last() -> None:
    values = [0.1 * i for i in range(1, 101)]
    assert report.percentile(values, 50) == pytest.approx(5.0)
    assert report.percentile(values, 99) == pytest.approx(9.9)
    assert report.percentile([0.1, None], 50) == 0.1
    assert report.percentile([0.1, None], 99) is None
    assert report.percentile([], 50) is None


def test_median_across_rounds() -> None:
    assert report.median([3.0, 1.0, 2.0]) == 2.0
    assert report.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    # A round that never got there ranks last: it moves the median, it is not averaged away.
    assert report.median([1.0, None, 2.0]) == 2.0
    assert report.median([1.0, 2.0, None, None]) is None
    assert report.median([]) is None


def test_ratio_refuses_missing_or_zero() -> None:
    assert report.ratio(0.3, 0.15) == pytest.approx(2.0)
    assert report.ratio(None, 0.15) is None
    assert report.ratio(0.3, None) is None
    assert report.ratio(0.3, 0.0) is None


def test_summary_takes_medians_worst_counts_floor_ratio_and_cpu_growth() -> None:
    results = [
        # ours at 500 in three rounds: p99 of each round is its slowest ack (N=2).
        phase("ours", 2, [0.1, 0.4], finals=[5.0, 5.5], cpu_seconds=0.004, round_number=1),
        phase("ours", 2, [0.1, 0.3], finals=[4.0, 4.5], cpu_seconds=0.006, round_number=2),
        phase("ours", 2, [0.1, 0.5], finals=[6.0, 7.0], cpu_seconds=0.008, round_number=3),
        phase("floor", 2, [0.05, 0.2], round_number=1),
        phase("floor", 2, [0.05, 0.1], round_number=2),
        phase("floor", 2, [0.05, 0.15], round_number=3),
        phase("bolt-floor", 2, [0.05, 0.3], round_number=1),
        phase("ours", 1, [0.1], finals=[2.5], cpu_seconds=0.002),
    ]
    summaries = {(s.app, s.n): s for s in report.summarize(results)}
    ours = summaries[("ours", 2)]
    assert ours.ack_p99 == pytest.approx(0.4)
    assert ours.final_p50 == pytest.approx(5.0)
    assert ours.final_max == pytest.approx(5.5)
    assert ours.cpu_per_dial_ms == pytest.approx(3.0)
    assert ours.floor_ratio == pytest.approx(0.4 / 0.15)
    assert ours.smallest_n == 1
    assert ours.cpu_growth == pytest.approx(3.0 / 2.0)
    assert summaries[("floor", 2)].floor_ratio is None
    # Bolt's own share: the Bolt floor's p99 over the floor's; it dials nothing, so no targets.
    assert summaries[("bolt-floor", 2)].floor_ratio == pytest.approx(0.3 / 0.15)
    assert "bolt-floor" not in report.targets_text(list(summaries.values()))
    # Tables list the smaller burst first, and ours before the floors.
    assert [(s.app, s.n) for s in report.summarize(results)] == [
        ("ours", 1),
        ("ours", 2),
        ("bolt-floor", 2),
        ("floor", 2),
    ]


def test_counts_are_the_worst_round() -> None:
    results = [
        phase("ours", 2, [0.1, 0.2], finals=[2.0, 2.0], round_number=1),
        phase("ours", 2, [0.1, 3.5], finals=[2.0, 2.0], calls={"2000": 2}, round_number=2),
    ]
    (ours,) = report.summarize(results)
    assert ours.acked_worst == 1
    assert ours.once_worst == 0
    assert ours.duplicates_worst == 1


def marks(summary: report.Summary) -> dict[str, bool]:
    """The targets of one summary by the start of their wording."""
    return {what.split(" (")[0]: ok for what, ok, _ in report.targets(summary)}


def test_targets_at_the_done_when_bounds() -> None:
    http = [
        phase("ours", 2, [0.1, 0.2], finals=[6.0, 6.0], cpu_seconds=0.006),
        phase("floor", 2, [0.05, 0.1]),
        phase("ours", 1, [0.1], finals=[2.0], cpu_seconds=0.002),
    ]
    ours = next(s for s in report.summarize(http) if s.app == "ours" and s.n == 2)
    assert marks(ours) == {
        "every dial acked within 3 s in every round": True,
        "placed exactly once in every round": True,
        "ack p99 ≤ 2× the floor's": True,  # exactly 2×
        "CPU per dial ≤ 3 ms": True,  # exactly 3 ms
        "CPU per dial ≤ 1.5× its value at 1": True,  # exactly 1.5×
        "final reply p50 ≤ 6 s": True,  # exactly 6 s
    }
    over = [
        phase("ours", 2, [0.1, 0.21], finals=[6.1, 6.1], cpu_seconds=0.0062),
        phase("floor", 2, [0.05, 0.1]),
        phase("ours", 1, [0.1], finals=[2.0], cpu_seconds=0.002),
    ]
    ours = next(s for s in report.summarize(over) if s.app == "ours" and s.n == 2)
    assert not any(
        ok for what, ok in marks(ours).items() if not what.startswith(("every", "placed"))
    )


def test_socket_mode_target_is_absolute_and_a_missing_floor_misses_http() -> None:
    socket = [phase("ours", 2, [0.1, 0.6], mode="socket", finals=[2.0, 2.0])]
    (ours,) = report.summarize(socket)
    assert marks(ours)["ack p99 ≤ 600 ms"] is True
    socket_slow = [phase("ours", 2, [0.1, 0.61], mode="socket", finals=[2.0, 2.0])]
    assert marks(report.summarize(socket_slow)[0])["ack p99 ≤ 600 ms"] is False
    no_floor = [phase("ours", 2, [0.1, 0.1], finals=[2.0, 2.0])]
    assert marks(report.summarize(no_floor)[0])["ack p99 ≤ 2× the floor's"] is False


def test_a_dial_never_acked_or_placed_twice_misses() -> None:
    results = [
        phase("ours", 2, [0.1, None], finals=[2.0, 2.0], calls={"2000": 1, "2001": 2}),
    ]
    result = marks(report.summarize(results)[0])
    assert result["every dial acked within 3 s in every round"] is False
    assert result["placed exactly once in every round"] is False


def test_schedule_interleaves_and_bounds_the_baseline() -> None:
    apps = ["ours", "floor", "baseline", "bolt-floor"]
    phases = schedule(3, [200, 500], ["http", "socket"], apps, 200)
    # The floors are HTTP only.
    assert not [p for p in phases if p[3] in ("floor", "bolt-floor") and p[2] == "socket"]
    assert len([p for p in phases if p[3] == "bolt-floor"]) == 6
    # The baseline runs every round at 200, only in round 1 at 500.
    assert sorted(r for r, n, _, app in phases if app == "baseline" and n == 500) == [1, 1]
    assert sorted(r for r, n, _, app in phases if app == "baseline" and n == 200) == [
        1,
        1,
        2,
        2,
        3,
        3,
    ]
    # Each round rotates who goes first.
    firsts = [next(app for r, _, _, app in phases if r == k) for k in (1, 2, 3)]
    assert firsts == ["ours", "floor", "baseline"]  # rotated by one a round


def test_command_line_names_only_what_differs_from_the_defaults() -> None:
    assert command_line(parse_args([])) == "python -m bench"
    args = parse_args(["--n", "500,50", "--rounds", "2", "--before", "/tmp/old", "--modes", "http"])
    assert args.n == [50, 500]
    assert (
        command_line(args) == "python -m bench --n 50,500 --rounds 2 --modes http --before /tmp/old"
    )


def test_markdown_keeps_the_notes_below_the_marker(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(f"old figures\n{report.KEEP_MARKER}\n## Notes by hand\n")
    kept = report.kept_notes(str(path))
    results = [phase("ours", 2, [0.1, 0.2], finals=[2.0, 2.0]), phase("floor", 2, [0.1, 0.1])]
    text = report.markdown(results, "python -m bench --rounds 1", 60.0, "0.5", kept)
    assert "old figures" not in text
    assert text.endswith(f"{report.KEEP_MARKER}\n## Notes by hand\n")
    assert "python -m bench --rounds 1" in text
    assert "| http | ours | 1/1 | 2/2 | 100 ms | 200 ms | 2.00× |" in text
