"""Links on PostgreSQL: each Slack user's PBX extension, shared by every replica."""

from __future__ import annotations

from bot.domain.directory import HAND
from bot.store.links import Link
from bot.store.pg.database import PgPart
from bot.store.pg.errors import guarded
from bot.store.timestamps import iso

#: The advisory lock key a link's write takes ("WFDL" as a number): the directory's steps
#: (bot.store.pg.link_events) and links made by hand take turns, as SQLite's writers do.
DIRECTORY_LOCK = 0x5746_444C
_COLUMNS = "user_id, extension, linked_by, linked_at, source"


class PgLinks(PgPart):
    """Read, set and remove links (the same answers as bot.store.links.LinkStore)."""

    @guarded
    async def get(self, user_id: str) -> Link | None:
        """The extension linked to a Slack user, if any."""
        async with self._database.reading() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM links WHERE user_id = %s", [user_id]
            )
            row = await cursor.fetchone()
        return Link(*row) if row else None

    @guarded
    async def users_with(self, extension: str) -> list[str]:
        """Slack user IDs linked to an extension (normally one)."""
        async with self._database.reading() as conn:
            cursor = await conn.execute(
                "SELECT user_id FROM links WHERE extension = %s ORDER BY user_id", [extension]
            )
            return [row[0] for row in await cursor.fetchall()]

    @guarded
    async def all(self) -> list[Link]:
        """Every link, by extension."""
        async with self._database.reading() as conn:
            cursor = await conn.execute(f"SELECT {_COLUMNS} FROM links ORDER BY extension, user_id")
            return [Link(*row) for row in await cursor.fetchall()]

    @guarded
    async def count(self) -> int:
        """How many users are linked."""
        async with self._database.reading() as conn:
            cursor = await conn.execute("SELECT count(*) FROM links")
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @guarded
    async def set(
        self, user_id: str, extension: str, linked_by: str, source: str = HAND
    ) -> Link | None:
        """Link or re-link a user (by hand unless told); answer the link it replaced, if any."""
        async with self._database.writing() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", [DIRECTORY_LOCK])
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM links WHERE user_id = %s FOR UPDATE", [user_id]
            )
            row = await cursor.fetchone()
            await conn.execute(
                f"INSERT INTO links ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET extension = excluded.extension,"
                " linked_by = excluded.linked_by, linked_at = excluded.linked_at,"
                " source = excluded.source",
                [user_id, extension, linked_by, iso(self._now()), source],
            )
        return Link(*row) if row else None

    @guarded
    async def remove(self, user_id: str) -> Link | None:
        """Unlink a user; answer the link removed, or None when there was none."""
        async with self._database.writing() as conn:
            cursor = await conn.execute(
                f"DELETE FROM links WHERE user_id = %s RETURNING {_COLUMNS}", [user_id]
            )
            row = await cursor.fetchone()
        return Link(*row) if row else None
