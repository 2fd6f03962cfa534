"""The two backends offer the same store: every public method of SQLite's parts is on
PostgreSQL's with the same parameters, and every store method the app calls exists on both.

The services never know which database they have (bot.store.runner awaits PostgreSQL's
coroutines and calls SQLite's methods): a method added to one backend alone would break the
app on the other, which only these checks notice before a replica does.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store
from bot.store.pg.store import PgStore

PARTS = ("links", "calls", "claims", "processes", "answers", "directory")
#: PostgreSQL's own extras, not the contract (the SQLite store has no pool, no server).
PG_ONLY = {"describe", "scrubber", "pool_empty", "from_thread"}
#: A store method called through a store: `store.calls.reserve`, `db.store.now()`, ...
CALLED = re.compile(r"\bstore\.(?:(\w+)\.(\w+)\b|(\w+)\()")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Store, PgStore]:
    """Both backends, built but never connected (PostgreSQL's pool opens in `open()`)."""
    return Store(str(tmp_path / "dialer.db")), PgStore("postgresql://dialer@127.0.0.1:1/none")


def public(obj: Any) -> dict[str, Any]:
    """The public methods and properties of an object's class, by name."""
    return {
        name: member
        for name, member in inspect.getmembers(type(obj))
        if not name.startswith("_") and (callable(member) or isinstance(member, property))
    }


def parameters(method: Any) -> list[tuple[str, Any, Any]]:
    """Each parameter's name, kind and default (annotations differ: coroutines answer later)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(method).parameters.values()]


@pytest.mark.parametrize("part", [None, *PARTS])
def test_every_sqlite_method_is_on_postgresql_with_the_same_parameters(
    stores: tuple[Store, PgStore], part: str | None
) -> None:
    sqlite, pg = (store if part is None else getattr(store, part) for store in stores)
    theirs = public(pg)
    missing = sorted(set(public(sqlite)) - set(theirs))
    assert missing == [], f"PostgreSQL's {part or 'store'} lacks {missing}"
    for name, method in public(sqlite).items():
        if isinstance(method, property):
            assert isinstance(theirs[name], property), name
            continue
        assert parameters(method) == parameters(theirs[name]), f"{part or 'store'}.{name}"
        if part is not None:  # the parts' methods: plain calls on SQLite, coroutines on PG
            assert inspect.iscoroutinefunction(theirs[name]), f"{part}.{name} is not async"


def test_postgresql_extras_are_only_its_own(stores: tuple[Store, PgStore]) -> None:
    sqlite, pg = stores
    for part in (None, *PARTS):
        mine = public(sqlite if part is None else getattr(sqlite, part))
        theirs = public(pg if part is None else getattr(pg, part))
        assert set(theirs) - set(mine) <= PG_ONLY, part


def test_every_store_method_the_app_calls_exists_on_both_backends(
    stores: tuple[Store, PgStore],
) -> None:
    called: set[tuple[str, str | None]] = set()
    for source in (ROOT / "bot").rglob("*.py"):
        if "store" in source.relative_to(ROOT / "bot").parts[:1]:
            continue  # the store's own modules
        for part, method, direct in CALLED.findall(source.read_text()):
            called.add((part, method) if part else (direct, None))
    assert ("calls", "reserve") in called and ("now", None) in called  # the scan finds them
    for store in stores:
        for name, method in called:
            if name in ("pg", "database"):
                continue  # module paths (bot.store.pg) and one backend's internals
            if method is None:
                assert hasattr(store, name), f"{type(store).__name__} lacks {name}()"
            else:
                assert hasattr(getattr(store, name), method), f"{type(store).__name__}.{name}"
