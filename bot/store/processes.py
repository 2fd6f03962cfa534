"""Processes sharing the file: each one's heartbeat, and the settling of calls of those gone.

Each process renews its heartbeat in the `processes` table every few seconds, and each call it
places names it as the owner. A process settles as interrupted only the calls of processes
whose heartbeat went stale: never those of one still finishing its calls after SIGTERM.
"""

from __future__ import annotations

import os
import socket

from bot.domain.outcomes import Outcome
from bot.store.database import Database, Part
from bot.store.errors import guarded

#: How often each live process renews its heartbeat (bot.runtime.lease keeps it).
HEARTBEAT_SECONDS = 2.0
#: This process's own heartbeat older than this makes it unhealthy (Store.health): three beats
#: missed means its writes are stuck, however the last one ended.
HEALTHY_BEAT_SECONDS = 3 * HEARTBEAT_SECONDS
#: A process whose heartbeat is older than this is gone: its pending calls are settled. Every
#: live process renews its heartbeat every couple of seconds (bot.runtime.lease).
STALE_SECONDS = 15.0
#: A call still waiting on the PBX blocks a repeat, however slow the PBX (up to this long);
#: a call logged before owners were recorded is settled once it is older than this.
PENDING_LIMIT_SECONDS = 300.0
#: Heartbeats and settling may wait this long for another writer (they run off the loop).
SLOW_WRITE_SECONDS = 30.0


class Processes(Part):
    """This process's heartbeat, and the calls of processes that are gone."""

    def __init__(self, database: Database, owner: str) -> None:
        super().__init__(database)
        self.owner = owner
        self._left = False

    @guarded
    def heartbeat(self) -> None:
        """Say this process is alive: its calls in flight are its own to finish."""
        if self._left:
            return  # a beat still on its way after leave() must not bring the row back
        with self._database.writing(wait=SLOW_WRITE_SECONDS) as db:
            now = self._now()
            db.execute(
                "INSERT INTO processes (owner, pid, host, started_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                [self.owner, os.getpid(), socket.gethostname(), now, now],
            )
        self._database.beat()

    @guarded
    def leave(self) -> None:
        """This process is exiting with no call in flight: forget its heartbeat."""
        self._left = True
        with self._database.writing(wait=SLOW_WRITE_SECONDS) as db:
            db.execute("DELETE FROM processes WHERE owner = ?", [self.owner])

    @guarded
    def settle_interrupted(self, *, stale_after: float = STALE_SECONDS) -> int:
        """Mark as interrupted the calls left pending by processes that are gone.

        A process is gone when its heartbeat is older than `stale_after` or it left no row;
        a live one (say, draining after SIGTERM in a rolling upgrade) keeps its calls. Calls
        logged before owners were recorded are settled once no process could still be
        waiting on them. Settled calls still count as sent.
        """
        with self._database.writing(wait=SLOW_WRITE_SECONDS) as db:
            now = self._now()
            db.execute(
                "DELETE FROM processes WHERE heartbeat_at < ? AND owner != ?",
                [now - stale_after, self.owner],
            )
            return db.execute(
                f"UPDATE calls SET outcome = '{Outcome.INTERRUPTED}',"
                " detail = 'the bot stopped mid-call'"
                f" WHERE outcome = '{Outcome.PENDING}' AND CASE WHEN owner IS NULL THEN at < ?"
                " ELSE owner != ? AND owner NOT IN (SELECT owner FROM processes) END",
                [now - PENDING_LIMIT_SECONDS, self.owner],
            ).rowcount
