"""The bot on PostgreSQL (DIALER_DATABASE_URL), in-process: the same answers as on SQLite, the
state in PostgreSQL, and start-up refusals in one line that never shows the password."""

from __future__ import annotations

import asyncio
import sys

import psycopg

from bot.config import load_settings
from bot.domain.backoff import Backoff
from bot.runtime import process
from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.inproc.harness import start_up
from tests.postgres import PostgresServer
from tests.workspace import BOT_TOKEN, PBX_KEY, SIGNING_SECRET

GOOD = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "WEBFONES_API_KEY": PBX_KEY,
}


def rows(url: str, sql: str) -> list[tuple]:
    """What PostgreSQL holds, read as an operator would."""
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


async def test_the_process_opens_postgres_in_the_loop_joins_and_leaves(
    postgres_url: str, postgres_server: PostgresServer, pbx: FakePbx, slack: FakeSlack
) -> None:
    """bot.runtime.process on PostgreSQL: start opens the pool (migrated) and joins the
    replicas' processes, the metrics read the shared budget, stop leaves and closes."""
    settings = load_settings(
        {
            **GOOD,
            "SLACK_API_URL": slack.api_url,
            "WEBFONES_BASE_URL": pbx.url,
            "DIALER_DATABASE_URL": postgres_url,
            "DIALER_PBX_RATE": "7/900",
        }
    )
    built = process.open_database(settings)
    assert built.store.asynchronous and not rows(postgres_url, "SELECT to_regclass('links')")[0][0]
    serving = await process.start(built, Backoff(0.05, 0.2))
    try:
        assert [row[0] for row in rows(postgres_url, "SELECT owner FROM processes")] == [
            built.store.owner
        ]
        await built.db.run(built.store.links.set, "U1", "309", "UADMIN")
        assert (await built.db.run(built.store.links.get, "U1")).extension == "309"
        assert await built.db.run_in_pool(built.store.check) == "ok"
        exposition = (await asyncio.to_thread(built.metrics.exposition)).decode()
        assert "webfones_dialer_pbx_budget_remaining 7.0" in exposition, exposition
    finally:
        await process.stop(serving, drain_seconds=None)
    assert rows(postgres_url, "SELECT owner FROM processes") == []
    assert postgres_server.password not in str(settings)


def test_a_wrong_database_password_stops_start_up_in_one_line_without_it(
    postgres_url: str, postgres_server: PostgresServer, monkeypatch, capsys
) -> None:
    wrong = postgres_url.replace(postgres_server.password, "Not-The-Password-42")
    code, err = start_up({**GOOD, "DIALER_DATABASE_URL": wrong}, monkeypatch, capsys)
    assert code != 0
    [line] = err.strip().splitlines()
    assert "DIALER_DATABASE_URL postgresql://dialer@127.0.0.1:" in line, line
    assert "password authentication failed" in line
    assert "Not-The-Password-42" not in err and postgres_server.password not in err


def test_a_database_url_without_the_driver_says_what_to_install(monkeypatch, capsys) -> None:
    for name in [name for name in sys.modules if name.startswith("bot.store.pg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    url = "postgresql://dialer:Secret-Pass-9@db.example/dialer?sslmode=require"
    code, err = start_up({**GOOD, "DIALER_DATABASE_URL": url}, monkeypatch, capsys)
    assert code != 0
    [line] = err.strip().splitlines()
    assert line.endswith("pip install 'webfones-slack-dialer[postgres]'."), line
    assert "Secret-Pass-9" not in err


async def test_a_replica_with_nothing_in_flight_stops_at_once(
    postgres_url: str, pbx: FakePbx, slack: FakeSlack, caplog
) -> None:
    """The pool's own tasks are not calls in flight: SIGTERM's drain does not wait them out
    (a rolling restart of replicas would otherwise wait the whole drain at each one)."""
    settings = load_settings(
        {
            **GOOD,
            "SLACK_API_URL": slack.api_url,
            "WEBFONES_BASE_URL": pbx.url,
            "DIALER_DATABASE_URL": postgres_url,
        }
    )
    built = process.open_database(settings)
    serving = await process.start(built, Backoff(0.05, 0.2))
    await built.db.run(built.store.links.set, "U1", "309", "UADMIN")
    loop = asyncio.get_running_loop()
    began = loop.time()
    await process.stop(serving, drain_seconds=10.0)
    assert loop.time() - began < 3.0
    assert "unfinished" not in caplog.text
