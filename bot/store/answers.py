"""Callers' answers to "did it ring?", kept on the audit row, and the admins' notices about them.

An answer lives in the `answer` column of its call's row, so it is pruned with the row
(DIALER_LOG_DAYS). `admin_notices` remembers when each admin was last told about an extension
that did not ring, so a restart (or a second process) never tells them twice within the hour.
The report's counts (`python -m bot report`) are read here too: only the store talks SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils

from bot.domain.answers import CallerAnswer
from bot.domain.outcomes import Outcome
from bot.store.database import Part
from bot.store.errors import guarded
from bot.store.ledger import CallRecord, _record

PLACED = Outcome.PLACED.value
DIDNT_RING = CallerAnswer.DIDNT_RING.value
#: A notice older than this is of no more use to the once-an-hour rule, and is deleted.
NOTICE_KEEP_SECONDS = 86400.0


@dataclass(frozen=True)
class Answered:
    """An answer written on a call's row: what it said before (None: nothing), and the row."""

    previous: str | None
    record: CallRecord

    @property
    def changed(self) -> bool:
        """Whether the row says something it did not say before."""
        return self.previous != self.record.answer


@dataclass(frozen=True)
class ExtensionTrouble:
    """An extension whose callers said it did not ring: how often, and the latest call's time."""

    extension: str
    count: int
    last_at: float


@dataclass(frozen=True)
class Summary:
    """The audit log's counts over a period, for the admins' report."""

    since: float
    until: float
    #: (UTC day as YYYY-MM-DD, attempts that day), oldest first; days without any are left out.
    per_day: list[tuple[str, int]] = field(default_factory=list)
    #: Attempts by outcome.
    outcomes: dict[str, int] = field(default_factory=dict)
    #: Placed calls by the caller's answer ("" for none given).
    answers: dict[str, int] = field(default_factory=dict)
    didnt_ring: list[ExtensionTrouble] = field(default_factory=list)


class CallerAnswers(Part):
    """Write callers' answers on their calls' rows; count "didn't ring"; remember notices."""

    @guarded
    def call(self, call_id: int) -> CallRecord | None:
        """The audit row of one call, if it is still kept."""
        rows = list(self._database.connection()["calls"].rows_where("id = ?", [call_id]))
        return _record(rows[0]) if rows else None

    @guarded
    def answer(self, call_id: int, *, user_id: str, answer: str) -> Answered | None:
        """Write the caller's answer on their placed call; None when the row is no such call.

        The ownership and outcome checks are repeated in the write, so a row pruned or changed
        since it was read is never answered. The same answer again leaves the row as it was.
        """
        with self._database.writing() as db:
            row = db.execute(
                "SELECT answer FROM calls WHERE id = ? AND user_id = ? AND outcome = ?",
                [call_id, user_id, PLACED],
            ).fetchone()
            if row is None:
                return None
            previous = row[0]
            if previous != answer:
                db.execute(
                    "UPDATE calls SET answer = ?, answered_at = ? WHERE id = ?",
                    [answer, self._now(), call_id],
                )
            found = list(db["calls"].rows_where("id = ?", [call_id]))
            return Answered(previous, _record(found[0]))

    @guarded
    def didnt_ring_count(self, extension: str, *, days: int = 7) -> int:
        """How many calls from an extension its callers said did not ring in the last `days`."""
        since = self._now() - days * 86400
        found = self._database.connection().execute(
            "SELECT count(*) FROM calls WHERE answer = ? AND extension = ? AND at > ?",
            [DIDNT_RING, extension, since],
        )
        return found.fetchone()[0]

    @guarded
    def top_didnt_ring(self, *, days: int = 7, limit: int = 5) -> list[ExtensionTrouble]:
        """The extensions with the most "didn't ring" answers in the last `days`, most first."""
        return _didnt_ring(self._database.connection(), self._now() - days * 86400, limit)

    @guarded
    def claim_notice(self, extension: str, admin_id: str, *, within: float = 3600.0) -> bool:
        """Note that `admin_id` is being told about `extension`; False if they were, `within`."""
        with self._database.writing() as db:
            now = self._now()
            db.execute("DELETE FROM admin_notices WHERE told_at < ?", [now - NOTICE_KEEP_SECONDS])
            told = db.execute(
                "SELECT told_at FROM admin_notices WHERE extension = ? AND admin_id = ?",
                [extension, admin_id],
            ).fetchone()
            if told is not None and told[0] > now - within:
                return False
            db.execute(
                "INSERT OR REPLACE INTO admin_notices (extension, admin_id, told_at)"
                " VALUES (?, ?, ?)",
                [extension, admin_id, now],
            )
            return True

    @guarded
    def release_notice(self, extension: str, admin_id: str) -> None:
        """Forget a notice that could not be delivered, so the next press tries again."""
        with self._database.writing() as db:
            db.execute(
                "DELETE FROM admin_notices WHERE extension = ? AND admin_id = ?",
                [extension, admin_id],
            )

    @guarded
    def summary(self, *, days: int) -> Summary:
        """Attempts per day, the outcome mix, the answer mix and "didn't ring" by extension."""
        until = self._now()
        since = until - days * 86400
        db = self._database.connection()
        per_day = db.execute(
            "SELECT substr(at_utc, 1, 10) AS day, count(*) FROM calls WHERE at > ?"
            " GROUP BY day ORDER BY day",
            [since],
        ).fetchall()
        outcomes = db.execute(
            "SELECT outcome, count(*) FROM calls WHERE at > ? GROUP BY outcome"
            " ORDER BY count(*) DESC, outcome",
            [since],
        ).fetchall()
        answers = db.execute(
            "SELECT coalesce(answer, ''), count(*) FROM calls WHERE at > ? AND outcome = ?"
            " GROUP BY coalesce(answer, '')",
            [since, PLACED],
        ).fetchall()
        return Summary(
            since=since,
            until=until,
            per_day=[(day, count) for day, count in per_day],
            outcomes=dict(outcomes),
            answers=dict(answers),
            didnt_ring=_didnt_ring(db, since, None),
        )


def _didnt_ring(
    db: sqlite_utils.Database,
    since: float,
    limit: int | None,
) -> list[ExtensionTrouble]:
    """The "didn't ring" counts by extension since `since`, most first (ties: latest first)."""
    sql = (
        "SELECT extension, count(*) AS n, max(at) AS last FROM calls"
        " WHERE answer = ? AND at > ? AND extension IS NOT NULL"
        " GROUP BY extension ORDER BY n DESC, last DESC, extension"
    )
    args: list[object] = [DIDNT_RING, since]
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    rows = db.execute(sql, args).fetchall()
    return [ExtensionTrouble(extension, count, last) for extension, count, last in rows]
