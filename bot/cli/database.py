"""`database copy`: move an SQLite database (DIALER_DB) into an empty PostgreSQL database
(DIALER_DATABASE_URL), the step from one host to several replicas.

The copy is one transaction on PostgreSQL: it either lands whole, with the counts checked
table by table, or leaves the target as it was. A target that already holds data is refused
with one line (exit 1): the copy never merges two histories.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot import wiring
from bot.cli.common import CliError, Env, Where, db_exists, open_store, setting
from bot.store import StoreError


async def _copy_into(source: Any, target: Where) -> list[Any]:
    """Open the PostgreSQL store in this loop, copy the SQLite store into it, close it."""
    from bot.store.pg.copy import copy_store  # psycopg is the [postgres] extra

    store: Any = wiring.open_store(target)
    try:
        await store.open()
        return await copy_store(source, store)
    finally:
        await store.close()


def run_copy(args: argparse.Namespace, env: Env) -> int:
    """`database copy [--from FILE]`: exit 0 when every table's count matches, 1 when the
    target already holds data or a count differs, 2 when a database can't be used."""
    url = setting(env, "DIALER_DATABASE_URL")
    if not url:
        raise CliError(
            "DIALER_DATABASE_URL is not set: it names the empty PostgreSQL database to copy "
            "into (postgresql://user@host/database)."
        )
    path = args.source or setting(env, "DIALER_DB")
    if not db_exists(path):
        raise CliError(f"DIALER_DB {path} does not exist: there is nothing to copy.")
    target = Where(path, url)
    source = open_store(path)  # SQLite: opened (and brought to this version's schema) as is
    try:
        copied = asyncio.run(_copy_into(source, target))
    except StoreError as error:
        from bot.store.pg.copy import TargetNotEmpty

        if isinstance(error, TargetNotEmpty):
            print(f"webfones-dialer: {error}.", file=sys.stderr)
            return 1
        raise CliError(f"{str(error).rstrip('.')}.") from None
    finally:
        source.close()
    width = max(len(table.table) for table in copied)
    for table in copied:
        verdict = "ok" if table.ok else "MISMATCH"
        print(f"{verdict:<8} {table.table:<{width}}  {table.source} → {table.target}")
    wrong = [table.table for table in copied if not table.ok]
    if wrong:
        print(f"the counts differ in {', '.join(wrong)}: do not switch the bot over yet")
        return 1
    rows = sum(table.target for table in copied)
    print(f"copied {rows} rows from {path} to {target.name}; every count matches")
    return 0
