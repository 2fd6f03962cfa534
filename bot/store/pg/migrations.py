"""The PostgreSQL schema, as versioned migrations: each applied once, in order, under a lock.

Replicas starting together all try to migrate: the first takes a transaction-scoped advisory
lock and applies what is missing; the others wait on the lock, then find nothing left to do.
`schema_migrations` records each version applied.
"""

from __future__ import annotations

from psycopg import AsyncConnection

#: The advisory lock key migrations run under ("WFDM" as a number: any fixed key will do).
MIGRATION_LOCK = 0x5746_444D

#: (name, statements) in order; the version of each is its place in the list, from 1.
MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "m001_links_and_calls",
        (
            "CREATE TABLE links (user_id text PRIMARY KEY, extension text NOT NULL,"
            " linked_by text, linked_at text)",
            "CREATE INDEX links_extension ON links (extension)",
            "CREATE TABLE calls (id bigserial PRIMARY KEY, at double precision NOT NULL,"
            " at_utc text, user_id text NOT NULL, extension text, destination text,"
            " surface text, outcome text NOT NULL, sent integer NOT NULL DEFAULT 0,"
            " pbx_status integer, latency_ms integer, detail text,"
            " finished_at double precision, typed text, owner text)",
            "CREATE INDEX calls_at ON calls (at)",
            "CREATE INDEX calls_user_at ON calls (user_id, at)",
            "CREATE INDEX calls_sent_at ON calls (sent, at)",
            "CREATE INDEX calls_user_destination ON calls (user_id, destination, at)",
            "CREATE INDEX calls_pending ON calls (owner) WHERE outcome = 'pending'",
            "CREATE TABLE pbx_state (key text PRIMARY KEY, value double precision)",
        ),
    ),
    (
        "m002_handled",
        (
            "CREATE TABLE handled (key text PRIMARY KEY, at double precision NOT NULL)",
            "CREATE INDEX handled_at ON handled (at)",
        ),
    ),
    (
        "m003_processes",
        (
            "CREATE TABLE processes (owner text PRIMARY KEY, pid integer, host text,"
            " started_at double precision, heartbeat_at double precision)",
        ),
    ),
    (
        "m004_claim_owners",
        (
            # As SQLite's m006: claims made before owners were recorded count as acted on.
            "ALTER TABLE handled ADD COLUMN owner text",
            "ALTER TABLE handled ADD COLUMN done integer NOT NULL DEFAULT 1",
        ),
    ),
    (
        "m005_caller_answers",
        (
            # As SQLite's m007: the caller's answer on its call's row, and the admins' notices.
            "ALTER TABLE calls ADD COLUMN answer text",
            "ALTER TABLE calls ADD COLUMN answered_at double precision",
            "CREATE INDEX calls_answers ON calls (answer, at) WHERE answer IS NOT NULL",
            "CREATE TABLE admin_notices (extension text NOT NULL, admin_id text NOT NULL,"
            " told_at double precision, PRIMARY KEY (extension, admin_id))",
        ),
    ),
    (
        "m006_directory_links",
        (
            # As SQLite's m008: where each link came from, and the directory's own tables.
            "ALTER TABLE links ADD COLUMN source text NOT NULL DEFAULT 'hand'",
            "CREATE TABLE link_events (id bigserial PRIMARY KEY, at double precision NOT NULL,"
            " at_utc text, user_id text NOT NULL, action text NOT NULL, extension text,"
            " previous text, source text)",
            "CREATE INDEX link_events_user_at ON link_events (user_id, at)",
            "CREATE TABLE directory_conflicts (user_id text PRIMARY KEY, kind text, value text,"
            " holder text, extension text, first_at double precision, last_at double precision)",
            "CREATE TABLE directory_state (key text PRIMARY KEY, value text)",
        ),
    ),
)
#: The schema version this code writes and reads.
LATEST = len(MIGRATIONS)


async def migrate(conn: AsyncConnection) -> int:
    """Apply the migrations not yet applied, in one transaction under the lock; answer the
    version the database is at. Nothing is locked or written when none is missing (a
    replica may start against a read-only standby, and say so on its first write)."""
    current = await version(conn)
    if current >= LATEST:
        await conn.rollback()  # end the read's transaction (the connection may not autocommit)
        return current
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT version FROM schema_migrations")
        applied = {row[0] for row in await cursor.fetchall()}
        for number, (name, statements) in enumerate(MIGRATIONS, 1):
            if number in applied:
                continue
            for statement in statements:
                await conn.execute(statement)  # type: ignore[arg-type]  # constants above
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", [number, name]
            )
            applied.add(number)
        return max(applied, default=0)


async def version(conn: AsyncConnection) -> int:
    """The schema version the database is at (0 before any migration)."""
    cursor = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    exists = await cursor.fetchone()
    if not exists or not exists[0]:
        return 0
    cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0
