"""The import graph of the product, read from the source (ast, nothing imported), and the layering rules it must
keep (#25): the gateway half never reaches the centre, the centre never reaches the gateway runtime, the contract
between them imports neither, and production code never imports the dev tools.

    python -m edge.devtools.import_graph            edges between top-level packages, with counts, then the
                                                    rules and any import that breaks one (exit 1 if any does)
    python -m edge.devtools.import_graph --root DIR the same for another checkout (e.g. an older commit's)

What counts as an import: every `import` / `from … import` anywhere in a module, inside functions and under
`if TYPE_CHECKING:` too (a lazy import still ships the dependency with the half; a type-only one still couples
the halves' code), plus the parent packages Python runs first (`import a.b.c` runs a/__init__ and a/b/__init__).
Only modules of the scanned packages are nodes; the standard library and third-party packages are not.

Why our own check and not import-linter: the rules are four lines, and the ast walk is ~100 lines with no new
dependency on either half's install.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("edge", "firmware_bridge")
"""The top-level packages of this repository (the scanned nodes)."""


@dataclass(frozen=True)
class Rule:
    """Nothing reached from the modules under a `start` prefix, leaving out those under an `exempt` one, may lie
    under a `forbidden` prefix."""

    name: str
    start: tuple[str, ...]
    forbidden: tuple[str, ...]
    transitive: bool = True
    """False: only the start modules' own imports are checked (who may import X), not what those reach."""
    exempt: tuple[str, ...] = ()


GATEWAY = ("edge.gateway", "firmware_bridge")
CENTRE = ("edge.central",)
DEV_USERS = ("edge.devtools", "edge.bench", "edge.demo", "edge.cli", "edge.__main__")
"""What may import edge.devtools (and both halves): the tools themselves, the benchmarks, the demo and the CLI."""

RULES: tuple[Rule, ...] = (
    Rule("the gateway half never reaches the centre", start=GATEWAY, forbidden=CENTRE),
    Rule("the centre never reaches the gateway runtime", start=CENTRE, forbidden=GATEWAY),
    Rule("the contract imports neither half", start=("edge.contract",), forbidden=GATEWAY + CENTRE),
    Rule(
        "shared packages never reach either half",
        start=("edge",),
        exempt=GATEWAY + CENTRE + DEV_USERS,
        forbidden=GATEWAY + CENTRE,
    ),
    Rule(
        "production code never imports the dev tools",
        start=PACKAGES,
        exempt=DEV_USERS,
        forbidden=("edge.devtools",),
        transitive=False,
    ),
)


def under(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def find_modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every .py of the packages under `root`."""
    out: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _resolve(name: str, modules: Mapping[str, Path]) -> str | None:
    """The scanned module that importing `name` names: the longest prefix of it that is a module."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in modules:
            return ".".join(parts[:i])
    return None


def imports_of(module: str, path: Path, modules: Mapping[str, Path]) -> dict[str, int]:
    """Scanned module -> line of the first import of it in `module` (its parent packages are implied)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            # `from a import b` imports a.b when b is a submodule, else a name inside a
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module:
                found.setdefault(target, node.lineno)
    return found


def build_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, dict[str, int]]:
    """module -> {imported module: line} for every module of the packages under `root`."""
    modules = find_modules(root, packages)
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


@dataclass(frozen=True)
class Violation:
    rule: str
    chain: tuple[str, ...]
    """start module -> … -> the forbidden module, each link one import."""
    line: int
    """Line of the last link's import in the module before it."""

    def __str__(self) -> str:
        return f"{' -> '.join(self.chain)} (line {self.line} of {self.chain[-2]})"


def check(graph: Mapping[str, Mapping[str, int]], rule: Rule) -> list[Violation]:
    """Every forbidden module reached under `rule`, each with the shortest chain of imports that reaches it."""
    starts = [m for m in sorted(graph) if under(m, rule.start) and not under(m, rule.exempt)]
    via: dict[str, tuple[str, ...]] = {m: (m,) for m in starts}
    frontier = list(starts)
    out: list[Violation] = []
    while frontier:
        nxt: list[str] = []
        for m in frontier:
            for target, line in sorted(graph.get(m, {}).items()):
                # importing a.b.c runs a and a.b first: the parents are reached too, through the same import
                for reached in _parents(target):
                    if reached in via or reached not in graph:
                        continue
                    chain = (*via[m], reached)
                    if under(reached, rule.forbidden):
                        via[reached] = chain  # not followed: its own imports are its own problem
                        if reached == target:  # a forbidden parent has a forbidden child: report the child
                            out.append(Violation(rule.name, chain, line))
                    elif rule.transitive:
                        via[reached] = chain
                        nxt.append(reached)
        frontier = nxt
    return out


def group(module: str) -> str:
    """The top-level package a module belongs to: `edge.X` for a package or module X of edge, else its first part."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "edge" and len(parts) > 1 else parts[0]


def package_edges(graph: Mapping[str, Mapping[str, int]]) -> Counter[tuple[str, str]]:
    """(from group, to group) -> how many module-to-module imports cross between them (parent packages left out)."""
    edges: Counter[tuple[str, str]] = Counter()
    for m, targets in graph.items():
        for t in targets:
            if group(m) != group(t):
                edges[group(m), group(t)] += 1
    return edges


def report(root: Path) -> tuple[str, int]:
    """The printable graph and rule results for the checkout at `root`, and how many violations there are."""
    graph = build_graph(root)
    lines = ["import graph between top-level packages (module imports crossing, counted):"]
    edges = package_edges(graph)
    for src in sorted({s for s, _ in edges}):
        targets = sorted((t, n) for (s, t), n in edges.items() if s == src)
        lines.append(f"  {src} -> " + ", ".join(f"{t} ({n})" for t, n in targets))
    lines.append("rules:")
    total = 0
    for rule in RULES:
        found = check(graph, rule)
        total += len(found)
        lines.append(f"  [{'ok' if not found else f'{len(found)} broken'}] {rule.name}")
        lines.extend(f"      {v}" for v in found)
    return "\n".join(lines), total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edge.devtools.import_graph", description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2], help="checkout to read")
    args = ap.parse_args(argv)
    text, broken = report(args.root)
    print(text)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
