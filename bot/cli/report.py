"""`report`: calls per day, outcomes, callers' answers and "didn't ring" by extension.

Read from the audit log (DIALER_DB, or DIALER_DATABASE_URL when set) only: no Slack, no PBX,
no other setting. Days are UTC days, as the audit log's `at_utc` column writes them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import Any

from bot.cli.common import CliError, Env, open_store, where
from bot.domain.answers import CallerAnswer
from bot.store import StoreError
from bot.store.answers import Summary
from bot.store.timestamps import iso

FORMATS = ("table", "csv", "json")
DEFAULT_DAYS = 7
MAX_DAYS = 3650
#: Placed calls whose caller gave no answer, in the answer mix.
NO_ANSWER_GIVEN = "none"


def days(value: str) -> int:
    """--days: a whole number of days, 1 to 3650."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, 1 to {MAX_DAYS}")
    return number


def report_data(summary: Summary, period_days: int) -> dict[str, Any]:
    """The report as plain data (what --format json prints)."""
    answers = {answer.value: 0 for answer in CallerAnswer} | {NO_ANSWER_GIVEN: 0}
    for answer, count in summary.answers.items():
        answers[answer or NO_ANSWER_GIVEN] = answers.get(answer or NO_ANSWER_GIVEN, 0) + count
    return {
        "days": period_days,
        "from": iso(summary.since),
        "to": iso(summary.until),
        "calls": sum(count for _, count in summary.per_day),
        "calls_per_day": [{"day": day, "calls": count} for day, count in summary.per_day],
        "outcomes": dict(summary.outcomes),
        "answers": answers,
        "didnt_ring_by_extension": [
            {"extension": t.extension, "count": t.count, "last": iso(t.last_at)}
            for t in summary.didnt_ring
        ],
    }


def render_json(data: dict[str, Any]) -> str:
    """The report as one JSON object."""
    return json.dumps(data, indent=2) + "\n"


def render_csv(data: dict[str, Any]) -> str:
    """The report as CSV rows: section, key, count, and the last time ("didn't ring" only)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "count", "last"])
    for row in data["calls_per_day"]:
        writer.writerow(["calls_per_day", row["day"], row["calls"], ""])
    for outcome, count in data["outcomes"].items():
        writer.writerow(["outcome", outcome, count, ""])
    for answer, count in data["answers"].items():
        writer.writerow(["answer", answer, count, ""])
    for row in data["didnt_ring_by_extension"]:
        writer.writerow(["didnt_ring", row["extension"], row["count"], row["last"]])
    return out.getvalue()


def _rows(pairs: list[tuple[str, object]], empty: str) -> list[str]:
    if not pairs:
        return [f"  {empty}"]
    width = max(len(key) for key, _ in pairs)
    return [f"  {key:<{width}}  {value}" for key, value in pairs]


def render_table(data: dict[str, Any]) -> str:
    """The report for people: one titled list per part."""
    lines = [f"Calls from {data['from']} to {data['to']} ({data['days']} days): {data['calls']}"]
    lines += ["", "Calls per day (UTC)"]
    lines += _rows([(r["day"], r["calls"]) for r in data["calls_per_day"]], "none")
    lines += ["", "Outcomes"]
    lines += _rows(list(data["outcomes"].items()), "none")
    lines += ["", "Callers' answers (placed calls)"]
    lines += _rows(list(data["answers"].items()), "none")
    lines += ["", "Didn't ring, by extension"]
    troubles = [
        (f"extension {r['extension']}", f"{r['count']}  (last {r['last']})")
        for r in data["didnt_ring_by_extension"]
    ]
    lines += _rows(troubles, "none")
    return "\n".join(lines) + "\n"


RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json}


def run_report(args: argparse.Namespace, env: Env) -> int:
    """`report [--days N] [--format table|csv|json]`: the audit log's counts, to stdout."""
    place = where(env)
    if not place.exists():
        raise CliError(
            f"{place.name} does not exist: no calls to report (is DIALER_DB or the working "
            "directory right?)."
        )
    store = open_store(place)
    try:
        summary = store.answers.summary(days=args.days)
    except StoreError as error:
        raise CliError(f"{place.name} could not be read: {error}.") from None
    finally:
        store.close()
    sys.stdout.write(RENDERERS[args.format](report_data(summary, args.days)))
    sys.stdout.flush()
    return 0
