"""Links kept by the company directory: one atomic step per person, its audit rows, conflicts.

`follow` reads a person's link and who holds the directory's value, decides (the one decision,
bot.domain.directory) and writes the outcome in the same write transaction, so two processes
(or a `links sync` beside the bot) can never both hand one extension to two people. Every link
the directory makes, changes or removes is a row of `link_events`; every conflict stays open in
`directory_conflicts` until the person's next verdict agrees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from bot.domain.directory import DIRECTORY, HAND, Current, Decision, Verdict, clean, decide
from bot.domain.extensions import Problem
from bot.store.database import Part
from bot.store.errors import guarded
from bot.store.timestamps import iso

#: The links table's linked_by for a link the directory made.
LINKED_BY = "directory"


@dataclass(frozen=True)
class Followed:
    """The decision taken, and whether it opened a conflict that was not open before."""

    decision: Decision
    new_conflict: bool = False


@dataclass(frozen=True)
class Conflict:
    """A conflict open for the admins: whose, what kind, the value, who holds it, since when."""

    user_id: str
    kind: str
    value: str
    holder: str
    extension: str
    first_at: float


@dataclass(frozen=True)
class LinkEvent:
    """One row of the directory's audit log: linked, changed or removed."""

    at: float
    user_id: str
    action: str
    extension: str | None
    previous: str | None
    source: str


class DirectoryLinks(Part):
    """Follow the directory one person at a time; read the conflicts and the audit rows."""

    @guarded
    def follow(
        self,
        user_id: str,
        value: str,
        *,
        active: bool,
        rule: Callable[[str], Problem | None],
    ) -> Followed:
        """Decide and apply one person's verdict in one write transaction."""
        value = clean(value)
        with self._database.writing() as db:
            row = db.execute(
                "SELECT extension, source FROM links WHERE user_id = ?", [user_id]
            ).fetchone()
            current = Current(row[0], row[1] or HAND) if row else None
            holders = [
                found[0]
                for found in db.execute(
                    "SELECT user_id FROM links WHERE extension = ? ORDER BY user_id", [value]
                )
            ]
            decision = decide(
                user_id, value, active=active, current=current, holders=holders, rule=rule
            )
            new = self._write(db, decision)
        return Followed(decision, new)

    def _write(self, db: sqlite_utils.Database, decision: Decision) -> bool:
        """Write one decision; answer whether it opened a conflict that was not open."""
        now = self._now()
        user_id, verdict = decision.user_id, decision.verdict
        previous = decision.current.extension if decision.current else None
        if verdict in (Verdict.LINK, Verdict.CHANGE):
            db.execute(
                "INSERT INTO links (user_id, extension, linked_by, linked_at, source) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "extension = excluded.extension, linked_by = excluded.linked_by, "
                "linked_at = excluded.linked_at, source = excluded.source",
                [user_id, decision.value, LINKED_BY, iso(now), DIRECTORY],
            )
            action = "linked" if verdict == Verdict.LINK else "changed"
            self._event(db, now, user_id, action, decision.value, previous)
        elif verdict == Verdict.REMOVE:
            db.execute("DELETE FROM links WHERE user_id = ?", [user_id])
            self._event(db, now, user_id, "removed", None, previous)
        if not verdict.conflict:
            db.execute("DELETE FROM directory_conflicts WHERE user_id = ?", [user_id])
            return False
        open_row = db.execute(
            "SELECT kind, value, holder, first_at FROM directory_conflicts WHERE user_id = ?",
            [user_id],
        ).fetchone()
        same = open_row is not None and tuple(open_row[:3]) == (
            verdict.value,
            decision.value,
            decision.holder,
        )
        db.execute(
            "INSERT OR REPLACE INTO directory_conflicts "
            "(user_id, kind, value, holder, extension, first_at, last_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                user_id,
                verdict.value,
                decision.value,
                decision.holder,
                previous,
                open_row[3] if same else now,
                now,
            ],
        )
        return not same

    def _event(
        self,
        db: sqlite_utils.Database,
        now: float,
        user_id: str,
        action: str,
        extension: str | None,
        previous: str | None,
    ) -> None:
        db.execute(
            "INSERT INTO link_events (at, at_utc, user_id, action, extension, previous, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [now, iso(now), user_id, action, extension, previous, DIRECTORY],
        )

    @guarded
    def conflicts(self) -> list[Conflict]:
        """Every open conflict, oldest first."""
        rows = self._database.connection().execute(
            "SELECT user_id, kind, value, holder, extension, first_at "
            "FROM directory_conflicts ORDER BY first_at, user_id"
        )
        return [Conflict(r[0], r[1], r[2] or "", r[3] or "", r[4] or "", r[5]) for r in rows]

    @guarded
    def conflict_count(self) -> int:
        """How many conflicts are open (the admins' Home shows it)."""
        row = self._database.connection().execute("SELECT count(*) FROM directory_conflicts")
        return int(row.fetchone()[0])

    @guarded
    def events(self, user_id: str | None = None, limit: int = 50) -> list[LinkEvent]:
        """The directory's newest audit rows, optionally of one person."""
        sql = "SELECT at, user_id, action, extension, previous, source FROM link_events"
        args: list[object] = []
        if user_id is not None:
            sql += " WHERE user_id = ?"
            args.append(user_id)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        rows = self._database.connection().execute(sql, args)
        return [LinkEvent(*row) for row in rows]

    @guarded
    def remember(self, key: str, value: str) -> None:
        """Keep one fact about the directory (what the last `links sync` saw)."""
        with self._database.writing() as db:
            db.execute(
                "INSERT OR REPLACE INTO directory_state (key, value) VALUES (?, ?)", [key, value]
            )

    @guarded
    def recalled(self, key: str) -> str | None:
        """A fact kept by `remember`, or None."""
        row = (
            self._database.connection()
            .execute("SELECT value FROM directory_state WHERE key = ?", [key])
            .fetchone()
        )
        return row[0] if row else None

    @guarded
    def count(self) -> int:
        """How many people are linked from the directory."""
        row = self._database.connection().execute(
            "SELECT count(*) FROM links WHERE source = ?", [DIRECTORY]
        )
        return int(row.fetchone()[0])
