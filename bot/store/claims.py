"""Request claims: the identities of Slack requests already acted on, so a repeat acts no more.

A claim names the process that made it, and is marked done once that process has acted on the
request (its ack went back to Slack). A claim that is not done does not stop the request from
being acted on when Slack, or a load balancer, resends it to another process, once its process
is gone (heartbeat stale, or on this host its pid no longer runs) or Slack's 3-second ack
window has passed: the claim belongs to a live process, or to a finished act (`holds`).
"""

from __future__ import annotations

import os
import socket

from bot.store.database import Database, Part
from bot.store.errors import guarded
from bot.store.processes import STALE_SECONDS

#: How long a handled request's identity is kept: past Slack's 5-minute signature window, and
#: past its last retry, so neither a replay nor a redelivery is acted on twice.
HANDLED_KEEP_SECONDS = 900.0
#: A claim waits this long at most for another writer: it comes before Slack's 3-second ack,
#: and the write the request itself makes may wait too.
CLAIM_WAIT_SECONDS = 0.3


#: Slack's deadline for an ack: a claim not acted on by then has failed Slack too, and a
#: resend of its request may be acted on by another process (the duplicate guard still stops a
#: second call).
ACK_WINDOW_SECONDS = 3.0


def holds(
    me: str,
    now: float,
    owner: str | None,
    done: int,
    at: float,
    pid: int | None,
    host: str | None,
    heartbeat_at: float | None,
) -> bool:
    """Whether a recorded claim still stands against a new claim of the same request.

    It stands when it was acted on (or predates owners), is this process's own, or belongs to
    a live process that is still within Slack's ack window. A process is gone when its
    heartbeat is stale, or, on this host, when its pid no longer runs (a SIGKILLed replica is
    known at once, not 15 seconds later).
    """
    if done or owner is None or owner == me:
        return True
    if at < now - ACK_WINDOW_SECONDS:
        return False
    if heartbeat_at is None or heartbeat_at < now - STALE_SECONDS:
        return False
    return not (host == socket.gethostname() and pid is not None and not pid_runs(pid))


def pid_runs(pid: int) -> bool:
    """Whether a process with this pid runs on this host (signal 0 asks without signalling).

    A killed process its parent has not reaped yet (a zombie) still answers signal 0, but
    runs no more: /proc says so where there is one.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        pass
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


class RequestClaims(Part):
    """Claim a request's names once: the first claim wins, across restarts and processes."""

    def __init__(self, database: Database, owner: str) -> None:
        super().__init__(database)
        self._owner = owner

    @guarded
    def claim(
        self,
        key: str,
        *more_keys: str,
        keep_seconds: float = HANDLED_KEEP_SECONDS,
        wait: float = CLAIM_WAIT_SECONDS,
        done: bool = False,
    ) -> bool:
        """Record that the request named `key` is being acted on; False if one already was.

        A request may have several names (a Socket Mode envelope and the payload it carries):
        it is a repeat if any of them was claimed by a live process or acted on, and all of
        them are recorded as this process's. The check and the record are one transaction, so
        two processes on one file (a rolling deploy) cannot both claim the same request.
        `done=True` records the act at once (for a claim made as the act itself).
        """
        names = (key, *more_keys)
        with self._database.writing(wait=wait) as db:
            now = self._now()
            db.execute("DELETE FROM handled WHERE at < ?", [now - keep_seconds])
            marks = ", ".join("?" for _ in names)
            rows = db.execute(
                "SELECT h.owner, h.done, h.at, p.pid, p.host, p.heartbeat_at FROM handled h"
                f" LEFT JOIN processes p ON p.owner = h.owner WHERE h.key IN ({marks})",
                list(names),
            ).fetchall()
            held = any(holds(self._owner, now, *row) for row in rows)
            if held:  # a repeat: its new names (a redelivery's envelope) are recorded too
                db.conn.executemany(
                    "INSERT OR IGNORE INTO handled (key, at, owner, done) VALUES (?, ?, ?, 1)",
                    [(name, now, self._owner) for name in names],
                )
                return False
            # Fresh, or claimed by a process that died before acting: this one takes it over.
            db.conn.executemany(
                "INSERT INTO handled (key, at, owner, done) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET at = excluded.at, owner = excluded.owner,"
                " done = excluded.done",
                [(name, now, self._owner, int(done)) for name in names],
            )
            return True

    @guarded
    def acted(self, *keys: str, wait: float = CLAIM_WAIT_SECONDS) -> None:
        """This process acted on the request with these names (its ack went back to Slack)."""
        if not keys:
            return
        marks = ", ".join("?" for _ in keys)
        with self._database.writing(wait=wait) as db:
            db.execute(
                f"UPDATE handled SET done = 1 WHERE key IN ({marks}) AND owner = ?",
                [*keys, self._owner],
            )
