"""Links: each Slack user's PBX extension, keyed by Slack user ID (never the user name)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.directory import HAND
from bot.store.database import Part
from bot.store.errors import guarded
from bot.store.timestamps import iso


@dataclass(frozen=True)
class Link:
    """One Slack user's PBX extension."""

    user_id: str
    extension: str
    linked_by: str
    linked_at: str
    #: Who made it: "hand" (an admin, the form, a request, an import) or "directory".
    source: str = HAND


class LinkStore(Part):
    """Read, set and remove links."""

    @guarded
    def get(self, user_id: str) -> Link | None:
        """The extension linked to a Slack user, if any."""
        # Read on every dial: plain SQL, as sqlite_utils' rows_where also reads sqlite_master.
        sql = "SELECT user_id, extension, linked_by, linked_at, source FROM links WHERE user_id = ?"
        row = self._database.connection().execute(sql, [user_id]).fetchone()
        return Link(*row) if row else None

    @guarded
    def users_with(self, extension: str) -> list[str]:
        """Slack user IDs linked to an extension (normally one)."""
        rows = self._database.connection().execute(
            "SELECT user_id FROM links WHERE extension = ? ORDER BY user_id", [extension]
        )
        return [row[0] for row in rows]

    @guarded
    def all(self) -> list[Link]:
        """Every link, by extension."""
        rows = self._database.connection()["links"].rows_where(order_by="extension")
        return [Link(**row) for row in rows]

    @guarded
    def count(self) -> int:
        """How many users are linked."""
        return self._database.connection()["links"].count

    @guarded
    def set(self, user_id: str, extension: str, linked_by: str, source: str = HAND) -> Link | None:
        """Link or re-link a user (by hand unless told); answer the link it replaced, if any."""
        with self._database.writing() as db:
            rows = list(db["links"].rows_where("user_id = ?", [user_id]))
            db["links"].upsert(
                {
                    "user_id": user_id,
                    "extension": extension,
                    "linked_by": linked_by,
                    "linked_at": iso(self._now()),
                    "source": source,
                },
                pk="user_id",
            )
        return Link(**rows[0]) if rows else None

    @guarded
    def remove(self, user_id: str) -> Link | None:
        """Unlink a user; answer the link removed, or None when there was none."""
        with self._database.writing() as db:
            rows = list(db["links"].rows_where("user_id = ?", [user_id]))
            if rows:
                db.execute("DELETE FROM links WHERE user_id = ?", [user_id])
        return Link(**rows[0]) if rows else None
