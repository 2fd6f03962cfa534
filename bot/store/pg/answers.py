"""Callers' answers on PostgreSQL: on the audit row, with the admins' notices and the report.

The same answers as bot.store.answers.CallerAnswers. Each write is one transaction: the answer
locks its call's row, and a notice is claimed by one upsert whose condition is checked under the
row's lock, so two replicas never tell an admin twice within the hour.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from bot.store.answers import (
    DIDNT_RING,
    NOTICE_KEEP_SECONDS,
    PLACED,
    Answered,
    ExtensionTrouble,
    Summary,
)
from bot.store.ledger import CallRecord
from bot.store.pg.database import PgPart
from bot.store.pg.errors import guarded
from bot.store.pg.ledger import _RECORD


class PgAnswers(PgPart):
    """Write callers' answers on their calls' rows; count "didn't ring"; remember notices."""

    @guarded
    async def call(self, call_id: int) -> CallRecord | None:
        """The audit row of one call, if it is still kept."""
        async with self._database.reading() as conn:
            return await _call(conn, call_id)

    @guarded
    async def answer(self, call_id: int, *, user_id: str, answer: str) -> Answered | None:
        """Write the caller's answer on their placed call; None when the row is no such call."""
        async with self._database.writing() as conn:
            cursor = await conn.execute(
                "SELECT answer FROM calls WHERE id = %s AND user_id = %s AND outcome = %s"
                " FOR UPDATE",
                [call_id, user_id, PLACED],
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            previous = row[0]
            if previous != answer:
                await conn.execute(
                    "UPDATE calls SET answer = %s, answered_at = %s WHERE id = %s",
                    [answer, self._now(), call_id],
                )
            record = await _call(conn, call_id)
        assert record is not None  # locked above
        return Answered(previous, record)

    @guarded
    async def didnt_ring_count(self, extension: str, *, days: int = 7) -> int:
        """How many calls from an extension its callers said did not ring in the last `days`."""
        since = self._now() - days * 86400
        async with self._database.reading() as conn:
            cursor = await conn.execute(
                "SELECT count(*) FROM calls WHERE answer = %s AND extension = %s AND at > %s",
                [DIDNT_RING, extension, since],
            )
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @guarded
    async def top_didnt_ring(self, *, days: int = 7, limit: int = 5) -> list[ExtensionTrouble]:
        """The extensions with the most "didn't ring" answers in the last `days`, most first."""
        async with self._database.reading() as conn:
            return await _didnt_ring(conn, self._now() - days * 86400, limit)

    @guarded
    async def claim_notice(self, extension: str, admin_id: str, *, within: float = 3600.0) -> bool:
        """Note that `admin_id` is being told about `extension`; False if they were, `within`."""
        async with self._database.writing() as conn:
            now = self._now()
            await conn.execute(
                "DELETE FROM admin_notices WHERE told_at < %s", [now - NOTICE_KEEP_SECONDS]
            )
            cursor = await conn.execute(
                "INSERT INTO admin_notices (extension, admin_id, told_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (extension, admin_id) DO UPDATE SET told_at = excluded.told_at"
                " WHERE admin_notices.told_at <= %s RETURNING 1",
                [extension, admin_id, now, now - within],
            )
            return await cursor.fetchone() is not None

    @guarded
    async def release_notice(self, extension: str, admin_id: str) -> None:
        """Forget a notice that could not be delivered, so the next press tries again."""
        async with self._database.writing() as conn:
            await conn.execute(
                "DELETE FROM admin_notices WHERE extension = %s AND admin_id = %s",
                [extension, admin_id],
            )

    @guarded
    async def summary(self, *, days: int) -> Summary:
        """Attempts per day, the outcome mix, the answer mix and "didn't ring" by extension."""
        until = self._now()
        since = until - days * 86400
        async with self._database.reading() as conn:
            per_day = await _all(
                conn,
                "SELECT substr(at_utc, 1, 10) AS day, count(*) FROM calls WHERE at > %s"
                " GROUP BY day ORDER BY day",
                [since],
            )
            outcomes = await _all(
                conn,
                "SELECT outcome, count(*) FROM calls WHERE at > %s GROUP BY outcome"
                ' ORDER BY count(*) DESC, outcome COLLATE "C"',
                [since],
            )
            answers = await _all(
                conn,
                "SELECT coalesce(answer, ''), count(*) FROM calls WHERE at > %s AND outcome = %s"
                " GROUP BY coalesce(answer, '')",
                [since, PLACED],
            )
            didnt_ring = await _didnt_ring(conn, since, None)
        return Summary(
            since=since,
            until=until,
            per_day=[(day, int(count)) for day, count in per_day],
            outcomes={outcome: int(count) for outcome, count in outcomes},
            answers={answer: int(count) for answer, count in answers},
            didnt_ring=didnt_ring,
        )


async def _all(conn: AsyncConnection, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
    cursor = await conn.execute(sql, args)  # type: ignore[arg-type]  # our own constants
    return await cursor.fetchall()


async def _call(conn: AsyncConnection, call_id: int) -> CallRecord | None:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(f"SELECT {_RECORD} FROM calls WHERE id = %s", [call_id])  # type: ignore[arg-type]
    row = await cursor.fetchone()
    return CallRecord(**row) if row else None


async def _didnt_ring(
    conn: AsyncConnection, since: float, limit: int | None
) -> list[ExtensionTrouble]:
    """The "didn't ring" counts by extension since `since`, most first (ties: latest first)."""
    sql = (
        "SELECT extension, count(*) AS n, max(at) AS last FROM calls"
        " WHERE answer = %s AND at > %s AND extension IS NOT NULL"
        ' GROUP BY extension ORDER BY n DESC, last DESC, extension COLLATE "C"'
    )
    args: list[Any] = [DIDNT_RING, since]
    if limit is not None:
        sql += " LIMIT %s"
        args.append(limit)
    rows = await _all(conn, sql, args)
    return [ExtensionTrouble(extension, int(count), last) for extension, count, last in rows]
