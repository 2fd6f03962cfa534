"""Copy an SQLite store into an empty PostgreSQL one: growing from one host to several.

Every table that holds what the app keeps is copied (links with their source, the audit log
with callers' answers, which is also every budget's history, the PBX's 429 pause, request
claims, the directory's audit rows, conflicts and state, the admins' notices), in one
transaction under an advisory lock, so a failure (or a second copy started beside the first)
leaves the target as it was. A target that already holds data is refused: the copy never
merges. Processes are not copied: their heartbeats belong to the host being left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg import AsyncConnection, sql

from bot.store.errors import StoreError
from bot.store.pg.errors import guarded

if TYPE_CHECKING:
    from bot.store import Store
    from bot.store.pg.store import PgStore

#: The advisory lock a copy holds ("WFDK" as a number): two copies into one target take turns.
COPY_LOCK = 0x5746_444B
CALL_COLUMNS = """id at at_utc user_id extension destination surface outcome sent pbx_status
    latency_ms detail finished_at typed owner answer answered_at"""
#: (table, its columns, the serial column whose sequence follows the copied ids).
TABLES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("links", ("user_id", "extension", "linked_by", "linked_at", "source"), None),
    ("calls", tuple(CALL_COLUMNS.split()), "id"),
    ("pbx_state", ("key", "value"), None),
    ("handled", ("key", "at", "owner", "done"), None),
    (
        "link_events",
        ("id", "at", "at_utc", "user_id", "action", "extension", "previous", "source"),
        "id",
    ),
    (
        "directory_conflicts",
        ("user_id", "kind", "value", "holder", "extension", "first_at", "last_at"),
        None,
    ),
    ("directory_state", ("key", "value"), None),
    ("admin_notices", ("extension", "admin_id", "told_at"), None),
)
#: Tables that must be empty for the target to count as empty (the copied ones, and processes).
CHECKED = (*(table for table, _, _ in TABLES), "processes")


class TargetNotEmpty(StoreError):
    """The PostgreSQL database already holds data: the copy would merge two histories."""

    def __init__(self, shown: str, found: dict[str, int]) -> None:
        held = ", ".join(f"{table}: {count} rows" for table, count in found.items())
        super().__init__(
            f"DIALER_DATABASE_URL {shown} already holds data ({held}): the copy goes only into "
            "an empty database; nothing was copied"
        )
        self.found = found


@dataclass(frozen=True)
class Copied:
    """One table: the rows in the SQLite file and the rows now in PostgreSQL."""

    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        """Whether every row arrived."""
        return self.source == self.target


def _source_rows(source: Store, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Every row of one SQLite table, in the given columns' order."""
    where = " WHERE key != 'write probe'" if table == "pbx_state" else ""
    listed = ", ".join(f'"{column}"' for column in columns)
    rows = source.database.connection().execute(f"SELECT {listed} FROM {table}{where}")
    return [tuple(row) for row in rows]


async def _counts(conn: AsyncConnection, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows in each table of the target."""
    found = {}
    for table in tables:
        cursor = await conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        )
        row = await cursor.fetchone()
        found[table] = int(row[0]) if row else 0
    return found


@guarded
async def _copy(target: PgStore, data: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    """Write every table in one transaction; answer the target's counts, read in it."""
    async with target.database.writing(wait=30.0) as conn:
        await conn.execute("SELECT set_config('lock_timeout', '0', true)")  # a long write
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", [COPY_LOCK])
        held = {table: n for table, n in (await _counts(conn, CHECKED)).items() if n}
        if held:
            raise TargetNotEmpty(target.scrubber.shown, held)
        for table, columns, serial in TABLES:
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            async with conn.cursor().copy(statement) as copy:
                for row in data[table]:
                    await copy.write_row(row)
            if serial:  # the next id written by the app follows the copied ones
                await conn.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence({table}, {column}),"
                        " coalesce(max({ident}), 0) + 1, false) FROM {name}"
                    ).format(
                        table=sql.Literal(table),
                        column=sql.Literal(serial),
                        ident=sql.Identifier(serial),
                        name=sql.Identifier(table),
                    )
                )
        return await _counts(conn, tuple(table for table, _, _ in TABLES))


async def copy_store(source: Store, target: PgStore) -> list[Copied]:
    """Copy every table of the SQLite store into the empty, opened PostgreSQL store; answer
    each table's counts on both sides. Raises TargetNotEmpty (nothing copied) when the target
    already holds data, StoreError when either database fails (the target left as it was)."""
    try:
        data = {table: _source_rows(source, table, columns) for table, columns, _ in TABLES}
    except StoreError:
        raise
    except Exception as error:  # sqlite3's errors, without importing sqlite3 here
        raise StoreError(f"the SQLite file could not be read ({error})") from None
    counts = await _copy(target, data)
    return [Copied(table, len(data[table]), counts[table]) for table, _, _ in TABLES]
