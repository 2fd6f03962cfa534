"""The operator commands on PostgreSQL: `database copy`, and links, report and check opening the
store the bot would open (DIALER_DATABASE_URL when set), never an SQLite file beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli.check import shared_database_result
from bot.cli.common import Where
from bot.domain.rates import Rate
from bot.store import Reserved, Store
from bot.store.pg import postgres_store
from bot.store.pg.migrations import LATEST
from tests.cliproc import InProcess
from tests.postgres import PostgresServer

ROOMY = Rate(100_000, 60)
NOW = 1_800_000_000.0


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[str]:
    """An SQLite database as a single host leaves it: 1,000 links, 10,000 audit rows and a
    row in every other table."""
    path = str(tmp_path / "dialer.db")
    store = Store(path, clock=lambda: NOW)
    with store.database.writing() as db:
        db.conn.executemany(
            "INSERT INTO links (user_id, extension, linked_by, linked_at, source)"
            " VALUES (?, ?, 'UADMIN', '2027-01-01T00:00:00Z', ?)",
            [(f"U{n:06d}", str(1000 + n), "directory" if n % 10 else "hand") for n in range(1000)],
        )
        db.conn.executemany(
            "INSERT INTO calls (at, at_utc, user_id, extension, destination, surface, outcome,"
            " sent, pbx_status, latency_ms, detail, finished_at, owner, answer)"
            " VALUES (?, '2027-01-15T08:00:00Z', ?, '309', ?, 'slash', ?, 1, 200, 40, '', ?,"
            " 'old-host', ?)",
            [
                (
                    NOW - 10_000 + n,
                    f"U{n % 50:06d}",
                    f"+1555{n:07d}",
                    "placed",
                    NOW - 10_000 + n,
                    "didnt_ring" if n % 7 == 0 else None,
                )
                for n in range(10_000)
            ],
        )
        db.execute("INSERT INTO pbx_state (key, value) VALUES ('blocked_until', ?)", [NOW + 30])
        db.execute(
            "INSERT INTO handled (key, at, owner, done) VALUES ('event:E1', ?, 'x', 1)", [NOW]
        )
        db.execute(
            "INSERT INTO link_events (at, at_utc, user_id, action, extension, source)"
            " VALUES (?, 'x', 'U000001', 'linked', '1001', 'directory')",
            [NOW],
        )
        db.execute(
            "INSERT INTO directory_conflicts (user_id, kind, value, holder, first_at, last_at)"
            " VALUES ('U9', 'taken', '1001', 'U000001', ?, ?)",
            [NOW, NOW],
        )
        db.execute("INSERT INTO directory_state (key, value) VALUES ('last sync', '{}')")
        db.execute("INSERT INTO admin_notices VALUES ('309', 'UADMIN', ?)", [NOW])
    store.close()
    yield path


def on_postgres(url: str, work: Any) -> Any:
    """Run `work(store)` on a PostgreSQL store opened for it."""

    async def run() -> Any:
        store = postgres_store(url, clock=lambda: NOW)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def test_a_database_is_copied_whole_and_a_second_copy_is_refused(
    cli: InProcess, sqlite_db: str, postgres_url: str, postgres_server: PostgresServer
) -> None:
    env = {"DIALER_DB": sqlite_db, "DIALER_DATABASE_URL": postgres_url}
    ran = cli(["database", "copy"], env)
    assert ran.code == 0, ran.err
    lines = {line.split()[1]: line for line in ran.out.splitlines()[:8]}
    assert "1000 → 1000" in lines["links"] and "10000 → 10000" in lines["calls"]
    assert all(line.startswith("ok ") for line in ran.out.splitlines()[:8])
    assert ran.out.splitlines()[-1].endswith("every count matches")
    assert postgres_server.password not in ran.out + ran.err

    async def read(store: Any) -> Any:
        slot = await store.calls.reserve(
            "UNEW", extension="309", destination="+15550001111", surface="slash",
            user_rate=ROOMY, pbx_rate=ROOMY,
        )  # fmt: skip
        return (
            await store.links.count(),
            await store.directory.count(),
            (await store.links.get("U000001")).source,
            await store.answers.didnt_ring_count("309", days=1),
            await store.directory.conflict_count(),
            await store.directory.recalled("last sync"),
            slot,
        )

    links, directory, source, didnt_ring, conflicts, state, slot = on_postgres(postgres_url, read)
    assert (links, directory, source) == (1000, 900, "directory")
    assert didnt_ring == len(range(0, 10_000, 7)) and conflicts == 1 and state == "{}"
    assert slot.reason == "pbx_cooldown"  # the 429 pause came along too

    again = cli(["database", "copy"], env)
    assert again.code == 1 and again.out == ""
    assert len(again.err.strip().splitlines()) == 1
    assert "already holds data (links: 1000 rows, calls: 10001 rows" in again.err
    assert "nothing was copied" in again.err and postgres_server.password not in again.err
    assert on_postgres(postgres_url, lambda store: store.links.count()) == 1000


def test_copied_ids_continue_where_the_file_left_off(
    cli: InProcess, tmp_path: Path, postgres_url: str
) -> None:
    path = str(tmp_path / "small.db")
    store = Store(path, clock=lambda: NOW)
    for n in range(3):
        slot = store.calls.reserve(
            f"U{n}", extension="309", destination="+15550000000", surface="slash",
            user_rate=ROOMY, pbx_rate=ROOMY,
        )  # fmt: skip
        assert isinstance(slot, Reserved)
    store.close()
    ran = cli(["database", "copy", "--from", path], {"DIALER_DATABASE_URL": postgres_url})
    assert ran.code == 0, ran.err

    async def reserve(store: Any) -> Any:
        return await store.calls.reserve(
            "U9", extension="309", destination="+15559999999", surface="slash",
            user_rate=ROOMY, pbx_rate=ROOMY,
        )  # fmt: skip

    assert on_postgres(postgres_url, reserve) == Reserved(4)


def test_copy_needs_a_target_and_a_source(cli: InProcess, tmp_path: Path) -> None:
    missing = str(tmp_path / "none.db")
    ran = cli(["database", "copy"], {"DIALER_DB": missing})
    assert ran.code == 2 and "DIALER_DATABASE_URL is not set" in ran.err
    ran = cli(
        ["database", "copy"],
        {"DIALER_DB": missing, "DIALER_DATABASE_URL": "postgresql://dialer@127.0.0.1:1/x"},
    )
    assert ran.code == 2 and "does not exist: there is nothing to copy" in ran.err
    assert not Path(missing).exists()


def test_links_and_report_use_postgresql_when_it_is_set(
    cli: InProcess, tmp_path: Path, postgres_url: str, postgres_server: PostgresServer
) -> None:
    sqlite = tmp_path / "dialer.db"
    env = {"DIALER_DB": str(sqlite), "DIALER_DATABASE_URL": postgres_url}
    csv = tmp_path / "links.csv"
    csv.write_text("user_id,extension\nUALICE001,309\nUBOB00001,310\n")
    ran = cli(["links", "import", str(csv)], env)
    assert ran.code == 0, ran.err
    assert "2 linked" in ran.out
    assert not sqlite.exists()  # written where the bot reads: PostgreSQL
    assert on_postgres(postgres_url, lambda store: store.links.count()) == 2
    exported = cli(["links", "export"], env)
    assert exported.out == "user_id,extension\nUALICE001,309\nUBOB00001,310\n"
    report = cli(["report", "--format", "json"], env)
    assert report.code == 0 and '"calls": 0' in report.out
    assert not sqlite.exists()
    assert postgres_server.password not in ran.out + exported.out + report.out


def test_a_postgresql_that_cannot_be_reached_is_named_without_its_password(
    cli: InProcess, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.url("postgres", password="wrong-S3KRIT-pw")
    ran = cli(["links", "export"], {"DIALER_DATABASE_URL": url, "DIALER_DB": str(tmp_path / "x")})
    assert ran.code == 2 and "DIALER_DATABASE_URL postgresql://dialer@127.0.0.1" in ran.err
    assert "wrong-S3KRIT-pw" not in ran.err and len(ran.err.strip().splitlines()) == 1


def test_check_names_the_server_and_the_schema_version(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    result = shared_database_result(Where("unused.db", postgres_url))
    assert result.status == "ok" and result.name == "DIALER_DATABASE_URL"
    assert result.detail.startswith("PostgreSQL 1")
    assert f"schema version {LATEST} (writable, 0 links)" in result.detail
    assert "@127.0.0.1" in result.detail and postgres_server.password not in result.detail
    bad = postgres_server.url("postgres", password="wrong-S3KRIT-pw")
    failed = shared_database_result(Where("unused.db", bad))
    assert failed.status == "FAIL" and "wrong-S3KRIT-pw" not in failed.detail
