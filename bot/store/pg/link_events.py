"""Links kept by the company directory, on PostgreSQL: the same steps as bot.store.link_events.

Each person's step (read their link and who holds the value, decide, write) is one transaction
under a transaction-scoped advisory lock, so two replicas (or a `links sync` beside them) take
turns and can never both hand one extension to two people.
"""

from __future__ import annotations

from collections.abc import Callable

from psycopg import AsyncConnection

from bot.domain.directory import DIRECTORY, HAND, Current, Decision, Verdict, clean, decide
from bot.domain.extensions import Problem
from bot.store.link_events import LINKED_BY, Conflict, Followed, LinkEvent
from bot.store.pg.database import PgPart
from bot.store.pg.errors import guarded
from bot.store.pg.links import DIRECTORY_LOCK
from bot.store.timestamps import iso


class PgDirectoryLinks(PgPart):
    """Follow the directory one person at a time; read the conflicts and the audit rows."""

    @guarded
    async def follow(
        self,
        user_id: str,
        value: str,
        *,
        active: bool,
        rule: Callable[[str], Problem | None],
    ) -> Followed:
        """Decide and apply one person's verdict in one transaction, under the lock."""
        value = clean(value)
        async with self._database.writing() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", [DIRECTORY_LOCK])
            cursor = await conn.execute(
                "SELECT extension, source FROM links WHERE user_id = %s", [user_id]
            )
            row = await cursor.fetchone()
            current = Current(row[0], row[1] or HAND) if row else None
            cursor = await conn.execute(
                'SELECT user_id FROM links WHERE extension = %s ORDER BY user_id COLLATE "C"',
                [value],
            )
            holders = [found[0] for found in await cursor.fetchall()]
            decision = decide(
                user_id, value, active=active, current=current, holders=holders, rule=rule
            )
            new = await self._write(conn, decision)
        return Followed(decision, new)

    async def _write(self, conn: AsyncConnection, decision: Decision) -> bool:
        """Write one decision; answer whether it opened a conflict that was not open."""
        now = self._now()
        user_id, verdict = decision.user_id, decision.verdict
        previous = decision.current.extension if decision.current else None
        if verdict in (Verdict.LINK, Verdict.CHANGE):
            await conn.execute(
                "INSERT INTO links (user_id, extension, linked_by, linked_at, source) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
                "extension = excluded.extension, linked_by = excluded.linked_by, "
                "linked_at = excluded.linked_at, source = excluded.source",
                [user_id, decision.value, LINKED_BY, iso(now), DIRECTORY],
            )
            action = "linked" if verdict == Verdict.LINK else "changed"
            await self._event(conn, now, user_id, action, decision.value, previous)
        elif verdict == Verdict.REMOVE:
            await conn.execute("DELETE FROM links WHERE user_id = %s", [user_id])
            await self._event(conn, now, user_id, "removed", None, previous)
        if not verdict.conflict:
            await conn.execute("DELETE FROM directory_conflicts WHERE user_id = %s", [user_id])
            return False
        cursor = await conn.execute(
            "SELECT kind, value, holder, first_at FROM directory_conflicts WHERE user_id = %s",
            [user_id],
        )
        open_row = await cursor.fetchone()
        same = open_row is not None and tuple(open_row[:3]) == (
            verdict.value,
            decision.value,
            decision.holder,
        )
        await conn.execute(
            "INSERT INTO directory_conflicts "
            "(user_id, kind, value, holder, extension, first_at, last_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
            "kind = excluded.kind, value = excluded.value, holder = excluded.holder, "
            "extension = excluded.extension, first_at = excluded.first_at, "
            "last_at = excluded.last_at",
            [
                user_id,
                verdict.value,
                decision.value,
                decision.holder,
                previous,
                open_row[3] if same and open_row is not None else now,
                now,
            ],
        )
        return not same

    async def _event(
        self,
        conn: AsyncConnection,
        now: float,
        user_id: str,
        action: str,
        extension: str | None,
        previous: str | None,
    ) -> None:
        await conn.execute(
            "INSERT INTO link_events (at, at_utc, user_id, action, extension, previous, source) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [now, iso(now), user_id, action, extension, previous, DIRECTORY],
        )

    @guarded
    async def conflicts(self) -> list[Conflict]:
        """Every open conflict, oldest first."""
        async with self._database.reading() as conn:
            cursor = await conn.execute(
                "SELECT user_id, kind, value, holder, extension, first_at "
                'FROM directory_conflicts ORDER BY first_at, user_id COLLATE "C"'
            )
            rows = await cursor.fetchall()
        return [Conflict(r[0], r[1], r[2] or "", r[3] or "", r[4] or "", r[5]) for r in rows]

    @guarded
    async def conflict_count(self) -> int:
        """How many conflicts are open (the admins' Home shows it)."""
        return await self._count("SELECT count(*) FROM directory_conflicts", [])

    @guarded
    async def events(self, user_id: str | None = None, limit: int = 50) -> list[LinkEvent]:
        """The directory's newest audit rows, optionally of one person."""
        sql = "SELECT at, user_id, action, extension, previous, source FROM link_events"
        args: list[object] = []
        if user_id is not None:
            sql += " WHERE user_id = %s"
            args.append(user_id)
        sql += " ORDER BY id DESC LIMIT %s"
        args.append(limit)
        async with self._database.reading() as conn:
            cursor = await conn.execute(sql, args)  # type: ignore[arg-type]  # constants above
            rows = await cursor.fetchall()
        return [LinkEvent(*row) for row in rows]

    @guarded
    async def remember(self, key: str, value: str) -> None:
        """Keep one fact about the directory (what the last `links sync` saw)."""
        async with self._database.writing() as conn:
            await conn.execute(
                "INSERT INTO directory_state (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    @guarded
    async def recalled(self, key: str) -> str | None:
        """A fact kept by `remember`, or None."""
        async with self._database.reading() as conn:
            cursor = await conn.execute("SELECT value FROM directory_state WHERE key = %s", [key])
            row = await cursor.fetchone()
        return row[0] if row else None

    @guarded
    async def count(self) -> int:
        """How many people are linked from the directory."""
        return await self._count("SELECT count(*) FROM links WHERE source = %s", [DIRECTORY])

    async def _count(self, sql: str, args: list[object]) -> int:
        async with self._database.reading() as conn:
            cursor = await conn.execute(sql, args)  # type: ignore[arg-type]  # constants above
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
