"""The project's import graph read from source (AST), for tests/test_halves.py: which modules each half loads and
which third-party distributions they need.

An import counts as *eager* when it runs as the module loads: at module level outside `if TYPE_CHECKING:`, or in a
function the module itself calls at module level (edge/cli.py's `_register`). Every other import is *lazy*: it
runs when that code runs. A half's eager closure must install from its groups alone; its lazy closure may also
reach the optional dlib model (imported only when `model: dlib` is configured)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("edge", "firmware_bridge")


@cache
def modules() -> dict[str, Path]:
    """Every module of ours by dotted name (a package by its own name, for its __init__.py)."""
    out: dict[str, Path] = {}
    for top in OURS:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    yield base
    yield from (f"{base}.{a.name}" for a in node.names)


@dataclass(frozen=True)
class Imports:
    eager: frozenset[str]
    lazy: frozenset[str]


@cache
def imports_of(module: str) -> Imports:
    """The dotted names `module` imports, eager and lazy (see the module docstring)."""
    path = modules()[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    called_at_load = {
        n.value.func.id
        for n in tree.body
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Name)
    }
    eager: set[str] = set()
    lazy: set[str] = set()

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            later = deferred or _is_type_checking(child)
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                later = deferred or not (
                    node is tree and isinstance(child, ast.FunctionDef) and child.name in called_at_load
                )
            if isinstance(child, ast.Import | ast.ImportFrom):
                (lazy if later else eager).update(_names(child, module, is_package))
            visit(child, later)

    visit(tree, False)
    return Imports(frozenset(eager), frozenset(lazy - eager))


@dataclass
class Closure:
    modules: set[str]
    third_party: dict[str, set[str]]
    """Top-level third-party module -> our modules importing it."""


def closure(starts: Iterable[str], *, lazy: bool, skip: Iterable[str] = ()) -> Closure:
    """Our modules loaded from `starts` (a package name stands for all its modules), following eager imports and,
    with `lazy`, lazy ones too; `skip` modules are not entered (edge.cli, whose command groups are each loaded by
    the other half's modules too: its own load is checked apart)."""
    known = modules()
    skipped = set(skip)
    stack = [m for m in known if any(m == s or m.startswith(s + ".") for s in starts)]
    seen: set[str] = set()
    third: dict[str, set[str]] = {}
    while stack:
        module = stack.pop()
        if module in seen or module in skipped:
            continue
        seen.add(module)
        found = imports_of(module)
        for name in found.eager | found.lazy if lazy else found.eager:
            top = name.split(".")[0]
            if top in OURS:
                parts = name.split(".")
                stack.extend(c for k in range(1, len(parts) + 1) if (c := ".".join(parts[:k])) in known)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third.setdefault(top, set()).add(module)
    return Closure(seen, third)


@cache
def _top_levels() -> Mapping[str, list[str]]:
    """packages_distributions(), once: it reads every installed distribution's files (~1 s under load)."""
    return packages_distributions()


@cache
def _records() -> tuple[tuple[str, str], ...]:
    """(distribution name, the text of its RECORD) for every installed distribution."""
    return tuple((d.metadata["Name"], "\n" + (d.read_text("RECORD") or "")) for d in metadata.distributions())


def top_levels() -> list[str]:
    """Every top-level module name the installed distributions' top_level.txt (or files) declare."""
    return list(_top_levels())


@cache
def distributions_of(top_module: str) -> frozenset[str]:
    """The installed distributions providing a top-level module (e.g. cv2 -> opencv-python-headless):
    packages_distributions() (top_level.txt), else the distributions whose RECORD lists the module, because a
    wheel's top_level.txt may leave a package out (dlib-bin names only `_dlib_pybind11`, not its `dlib`)."""
    named = _top_levels().get(top_module)
    if named:
        return frozenset(named)
    marks = (f"\n{top_module}/", f"\n{top_module}.py,", f"\n{top_module}.cpython")
    return frozenset(name for name, record in _records() if any(m in record for m in marks))
