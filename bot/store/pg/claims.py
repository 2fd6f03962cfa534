"""Request claims on PostgreSQL: a replay or a retry acts once, whichever replica it reaches."""

from __future__ import annotations

from bot.store.claims import CLAIM_WAIT_SECONDS, HANDLED_KEEP_SECONDS
from bot.store.pg.database import PgPart
from bot.store.pg.errors import guarded


class PgClaims(PgPart):
    """Claim a request's names once: the first claim wins, across replicas and restarts."""

    @guarded
    async def claim(
        self,
        key: str,
        *more_keys: str,
        keep_seconds: float = HANDLED_KEEP_SECONDS,
        wait: float = CLAIM_WAIT_SECONDS,
    ) -> bool:
        """Record that the request named `key` is being acted on; False if one already was.

        Every name is inserted in one statement (ON CONFLICT DO NOTHING): a second replica
        inserting the same name waits for the first's transaction, then finds it taken. The
        names go in sorted, so two claims sharing names cannot deadlock.
        """
        names = sorted([key, *more_keys])  # a name given twice is a repeat, as on SQLite
        async with self._database.writing(wait=wait) as conn:
            now = self._now()
            await conn.execute("DELETE FROM handled WHERE at < %s", [now - keep_seconds])
            cursor = await conn.execute(
                "INSERT INTO handled (key, at) SELECT name, %s FROM unnest(%s::text[]) AS name"
                " ON CONFLICT (key) DO NOTHING",
                [now, names],
            )
            return cursor.rowcount == len(names)
