"""Request claims: the identities of Slack requests already acted on, so a repeat acts no more."""

from __future__ import annotations

from bot.store.database import Part
from bot.store.errors import guarded

#: How long a handled request's identity is kept: past Slack's 5-minute signature window, and
#: past its last retry, so neither a replay nor a redelivery is acted on twice.
HANDLED_KEEP_SECONDS = 900.0
#: A claim waits this long at most for another writer: it comes before Slack's 3-second ack,
#: and the write the request itself makes may wait too.
CLAIM_WAIT_SECONDS = 0.3


class RequestClaims(Part):
    """Claim a request's names once: the first claim wins, across restarts and processes."""

    @guarded
    def claim(
        self,
        key: str,
        *more_keys: str,
        keep_seconds: float = HANDLED_KEEP_SECONDS,
        wait: float = CLAIM_WAIT_SECONDS,
    ) -> bool:
        """Record that the request named `key` is being acted on; False if one already was.

        A request may have several names (a Socket Mode envelope and the payload it carries):
        it is a repeat if any of them was claimed, and all of them are recorded. The check and
        the record are one transaction, so two processes on one file (a rolling deploy) cannot
        both claim the same request.
        """
        with self._database.writing(wait=wait) as db:
            now = self._now()
            db.execute("DELETE FROM handled WHERE at < ?", [now - keep_seconds])
            fresh = True
            for name in (key, *more_keys):
                inserted = db.execute(
                    "INSERT OR IGNORE INTO handled (key, at) VALUES (?, ?)", [name, now]
                )
                fresh = fresh and inserted.rowcount == 1
            return fresh
