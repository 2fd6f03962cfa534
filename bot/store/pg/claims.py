"""Request claims on PostgreSQL: a replay or a retry acts once, whichever replica it reaches.

As on SQLite (bot.store.claims): a claim names the process that made it and is marked done once
that process has acted; a claim not done whose process is gone is taken over by the next one.
The check and the record are one transaction holding a transaction-scoped advisory lock on each
of the request's names (taken in sorted order, so two claims sharing names cannot deadlock):
two replicas claiming the same request take turns, and only the first wins.
"""

from __future__ import annotations

from bot.store.claims import CLAIM_WAIT_SECONDS, HANDLED_KEEP_SECONDS, holds
from bot.store.pg.database import PgDatabase, PgPart
from bot.store.pg.errors import guarded

#: The first half of each name's advisory lock key ("WFDC" as a number); the second is its hash.
CLAIM_LOCK = 0x5746_4443


class PgClaims(PgPart):
    """Claim a request's names once: the first claim wins, across replicas and restarts."""

    def __init__(self, database: PgDatabase, owner: str) -> None:
        super().__init__(database)
        self._owner = owner

    @guarded
    async def claim(
        self,
        key: str,
        *more_keys: str,
        keep_seconds: float = HANDLED_KEEP_SECONDS,
        wait: float = CLAIM_WAIT_SECONDS,
        done: bool = False,
    ) -> bool:
        """Record that the request named `key` is being acted on; False if one already was.

        A repeat if any name was claimed by a live process (or this one) or acted on; its new
        names are then recorded as acted on. A claim of a process that died before acting is
        taken over. `done=True` records the act at once (for a claim made as the act itself).
        """
        names = sorted(set((key, *more_keys)))
        async with self._database.writing(wait=wait) as conn:
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(name))"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS given(name, n) ORDER BY n",
                [CLAIM_LOCK, names],
            )
            now = self._now()
            await conn.execute("DELETE FROM handled WHERE at < %s", [now - keep_seconds])
            cursor = await conn.execute(
                "SELECT h.owner, h.done, h.at, p.pid, p.host, p.heartbeat_at FROM handled h"
                " LEFT JOIN processes p ON p.owner = h.owner WHERE h.key = ANY(%s)",
                [names],
            )
            rows = await cursor.fetchall()
            if any(holds(self._owner, now, *row) for row in rows):  # a repeat: names recorded
                await conn.execute(
                    "INSERT INTO handled (key, at, owner, done)"
                    " SELECT name, %s, %s, 1 FROM unnest(%s::text[]) AS name"
                    " ON CONFLICT (key) DO NOTHING",
                    [now, self._owner, names],
                )
                return False
            # Fresh, or claimed by a process that died before acting: this one takes it over.
            await conn.execute(
                "INSERT INTO handled (key, at, owner, done)"
                " SELECT name, %s, %s, %s FROM unnest(%s::text[]) AS name"
                " ON CONFLICT (key) DO UPDATE SET at = excluded.at, owner = excluded.owner,"
                " done = excluded.done",
                [now, self._owner, int(done), names],
            )
            return True

    @guarded
    async def acted(self, *keys: str, wait: float = CLAIM_WAIT_SECONDS) -> None:
        """This process acted on the request with these names (its ack went back to Slack)."""
        if not keys:
            return
        async with self._database.writing(wait=wait) as conn:
            await conn.execute(
                "UPDATE handled SET done = 1 WHERE key = ANY(%s) AND owner = %s",
                [list(keys), self._owner],
            )
