"""This process's lease on DIALER_DB, so two processes on one file (a rolling upgrade) are safe.

Each process renews its heartbeat in the `processes` table every few seconds, and each call it
places names it as the owner. A process settles as interrupted only the calls of processes
whose heartbeat went stale: never those of one still finishing its calls after SIGTERM. The
duplicate guard and the budgets count from the shared call log, so they see every process.
"""

from __future__ import annotations

import asyncio
import logging

from bot.store import Store, StoreBusy, StoreFailed
from bot.store.processes import HEARTBEAT_SECONDS
from bot.store.runner import StoreRunner

log = logging.getLogger(__name__)


def join(store: Store) -> None:
    """At start-up: say this process is alive, then settle calls of processes that are gone.

    A database that can't be written is logged, not fatal: the bot serves what it can and
    refuses calls with a sentence until the disk recovers. StoreBusy is the caller's to judge.
    """
    try:
        store.processes.heartbeat()
        settled = store.processes.settle_interrupted()
    except StoreFailed as error:
        log.error("%s; no call will be placed until it can be written", error)
        return
    _report_settled(settled)


async def join_shared(db: StoreRunner) -> None:
    """`join` for a store whose methods are coroutines (PostgreSQL), in the event loop."""
    try:
        await db.run(db.store.processes.heartbeat)
        settled = await db.run(db.store.processes.settle_interrupted)
    except StoreFailed as error:
        log.error("%s; no call will be placed until it can be written", error)
        return
    _report_settled(settled)


async def keep(db: StoreRunner) -> None:
    """Renew the heartbeat and settle the calls of stopped processes, until cancelled.

    Each beat also checks that DIALER_DB is still the file opened (Database.same_file), so a
    file deleted or replaced under an idle bot is noticed within a beat. Trouble is logged
    once, and again only when it changes, not every beat.
    """
    trouble: str | None = None
    while True:
        try:
            await db.run_in_pool(db.store.processes.heartbeat)
            settled = await db.run_in_pool(db.store.processes.settle_interrupted)
        except (StoreBusy, StoreFailed) as error:
            if str(error) != trouble:
                log.warning("could not renew this process's heartbeat: %s", error)
            trouble = str(error)
        else:
            if trouble is not None:
                log.info("the heartbeat is written again")
            trouble = None
            _report_settled(settled)
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def leave(db: StoreRunner, keeper: asyncio.Task[None]) -> None:
    """At a clean exit, with no call in flight: stop the heartbeat and remove this process."""
    keeper.cancel()
    try:
        await db.run_in_pool(db.store.processes.leave)
    except (StoreBusy, StoreFailed) as error:
        log.warning("could not remove this process from the database: %s", error)


def _report_settled(settled: int) -> None:
    if settled:
        log.warning("%d call(s) were in flight when the bot last stopped", settled)
