"""Processes on PostgreSQL: each replica's heartbeat, and the settling of calls of those gone."""

from __future__ import annotations

import os
import socket

from bot.domain.outcomes import Outcome
from bot.store.pg.database import PgDatabase, PgPart
from bot.store.pg.errors import guarded
from bot.store.processes import PENDING_LIMIT_SECONDS, SLOW_WRITE_SECONDS, STALE_SECONDS


class PgProcesses(PgPart):
    """This replica's heartbeat, and the calls of replicas that are gone."""

    def __init__(self, database: PgDatabase, owner: str) -> None:
        super().__init__(database)
        self.owner = owner
        self._left = False

    @guarded
    async def heartbeat(self) -> None:
        """Say this process is alive: its calls in flight are its own to finish."""
        if self._left:
            return  # a beat still on its way after leave() must not bring the row back
        async with self._database.writing(wait=SLOW_WRITE_SECONDS) as conn:
            now = self._now()
            await conn.execute(
                "INSERT INTO processes (owner, pid, host, started_at, heartbeat_at)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                [self.owner, os.getpid(), socket.gethostname(), now, now],
            )
        self._database.beat()

    @guarded
    async def leave(self) -> None:
        """This process is exiting with no call in flight: forget its heartbeat."""
        self._left = True
        async with self._database.writing(wait=SLOW_WRITE_SECONDS) as conn:
            await conn.execute("DELETE FROM processes WHERE owner = %s", [self.owner])

    @guarded
    async def settle_interrupted(self, *, stale_after: float = STALE_SECONDS) -> int:
        """Mark as interrupted the calls left pending by processes that are gone.

        As on SQLite: gone is a heartbeat older than `stale_after`, or no row at all. Two
        replicas settling at once settle each call once (the second finds it no longer pending).
        """
        async with self._database.writing(wait=SLOW_WRITE_SECONDS) as conn:
            now = self._now()
            await conn.execute(
                "DELETE FROM processes WHERE heartbeat_at < %s AND owner != %s",
                [now - stale_after, self.owner],
            )
            cursor = await conn.execute(
                "UPDATE calls SET outcome = %s, detail = 'the bot stopped mid-call'"
                " WHERE outcome = %s AND CASE WHEN owner IS NULL THEN at < %s"
                " ELSE owner != %s AND owner NOT IN (SELECT owner FROM processes) END",
                [
                    Outcome.INTERRUPTED.value,
                    Outcome.PENDING.value,
                    now - PENDING_LIMIT_SECONDS,
                    self.owner,
                ],
            )
            return cursor.rowcount
