"""The layers of bot/ as folders, with imports pointing down only and no import cycle.

Every `import` and `from … import` in bot/ counts, including those under TYPE_CHECKING and
inside functions: a layer that names a higher one, even for typing, is no longer below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

#: From the bottom up. A module may import its own unit (the same folder, or itself) and any
#: unit of a lower layer; never a unit of its own layer's other units or of a higher layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot.domain", "bot.logs"),
    ("bot.config",),
    ("bot.store",),
    ("bot.pbx", "bot.metrics"),
    ("bot.services",),
    ("bot.slack",),
    ("bot.wiring",),
    ("bot.cli", "bot.runtime"),
    ("bot.__main__",),
)
#: Third-party packages only some units may import.
ONLY = {"slack_bolt": ("bot.slack", "bot.wiring"), "slack_sdk": ("bot.slack", "bot.wiring")}
ONLY_SQL = {
    "sqlite3": ("bot.store",),
    "psycopg": ("bot.store",),
    "psycopg_pool": ("bot.store",),
}


def module_name(path: Path) -> str:
    """bot/slack/app.py -> bot.slack.app; bot/store/__init__.py -> bot.store."""
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of bot/ by dotted name."""
    found = {module_name(path): path for path in sorted(BOT.rglob("*.py"))}
    found.pop("bot")  # the package itself: a docstring, no imports
    return found


def imported(path: Path, known: set[str]) -> list[tuple[str, int]]:
    """Every module one file imports (bot's own resolved to modules, others by top name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.append((full if full in known else node.module, node.lineno))
    return found


def unit(module: str) -> str:
    """The layer unit a module belongs to (the longest prefix listed in LAYERS)."""
    names = [name for layer in LAYERS for name in layer]
    matches = [n for n in names if module == n or module.startswith(n + ".")]
    assert matches, f"{module} is in no layer: add its folder to LAYERS and docs/development.md"
    return max(matches, key=len)


def rank(module: str) -> int:
    """How high a module's layer is (0 is the ground)."""
    return next(i for i, layer in enumerate(LAYERS) if unit(module) in layer)


def edges() -> list[tuple[str, str, int]]:
    """(importer, imported, line) for every import of a bot module by a bot module."""
    found = modules()
    known = set(found)
    return [
        (name, target, line)
        for name, path in found.items()
        for target, line in imported(path, known)
        if target in known
    ]


def upward_imports(graph: list[tuple[str, str, int]]) -> list[str]:
    """Each import that points sideways or up, as 'a (line n) -> b'."""
    wrong = []
    for source, target, line in graph:
        if unit(source) == unit(target):
            continue
        if rank(target) >= rank(source):
            wrong.append(f"{source} (line {line}) -> {target}")
    return wrong


def cycles(graph: list[tuple[str, str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    succ: dict[str, set[str]] = {}
    for source, target, _ in graph:
        if source != target:
            succ.setdefault(source, set()).add(target)
            succ.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(succ[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(succ):
        if node not in index:
            visit(node)
    return groups


def test_every_module_is_in_a_layer() -> None:
    for name in modules():
        unit(name)


def test_imports_point_down_only() -> None:
    assert upward_imports(edges()) == []


def test_there_is_no_import_cycle() -> None:
    assert cycles(edges()) == []


def test_the_check_catches_a_domain_module_importing_the_slack_surface() -> None:
    graph = [*edges(), ("bot.domain.outcomes", "bot.slack.text", 1)]
    assert upward_imports(graph) == ["bot.domain.outcomes (line 1) -> bot.slack.text"]
    assert cycles([("bot.store", "bot.domain", 1), ("bot.domain", "bot.store", 2)])


@pytest.mark.parametrize(("package", "allowed"), [*ONLY.items(), *ONLY_SQL.items()])
def test_only_some_layers_import(package: str, allowed: tuple[str, ...]) -> None:
    found = modules()
    offenders = [
        f"{name} (line {line})"
        for name, path in found.items()
        for target, line in imported(path, set(found))
        if target.split(".")[0] == package and unit(name) not in allowed
    ]
    assert offenders == [], f"only {', '.join(allowed)} may import {package}"
