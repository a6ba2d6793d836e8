"""The layering of #25, read from the source: the gateway half never reaches the centre, the centre never reaches the
gateway runtime, the contract (edge/contract) and the other shared packages import neither half, and production
code never imports the dev tools. The rules are the table edge.devtools.import_graph.RULES; the same check prints
the whole graph for anyone: `python -m edge.devtools.import_graph`.

The synthetic trees below prove the check can fail, and on what: a lazy import inside a function, a relative
import, a package whose __init__ imports the other half, a chain through a shared package."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from edge.devtools.import_graph import RULES, Rule, build_graph, check, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return build_graph(ROOT)


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_holds(graph: dict[str, dict[str, int]], rule: Rule) -> None:
    broken = check(graph, rule)
    assert not broken, f"{rule.name}:\n" + "\n".join(f"  {v}" for v in broken)


def test_the_scan_sees_the_halves_and_the_contract(graph: dict[str, dict[str, int]]) -> None:
    """Guards the guard: a scan that found no modules, or lost the imports, would pass every rule."""
    assert "edge.contract.topics" in graph["edge.gateway.service"]
    assert "edge.contract.manifest" in graph["edge.gateway.distribution"]
    assert "edge.contract.manifest" in graph["edge.central.distribution.publisher"]
    assert "edge.contract.checkin" in graph["edge.central.collector.validate"]


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for pkg in ("edge", "firmware_bridge"):
        (root / pkg).mkdir(exist_ok=True)
        for d in [root / pkg, *(p for p in (root / pkg).rglob("*") if p.is_dir())]:
            (d / "__init__.py").touch()
    return root


def _broken(root: Path, name: str) -> list[tuple[str, ...]]:
    rule = next(r for r in RULES if r.name == name)
    return [v.chain for v in check(build_graph(root), rule)]


def test_a_lazy_relative_import_through_a_shared_package_is_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "edge/gateway/service.py": """
                def run():
                    from edge.ops import helper
                    return helper
            """,
            "edge/ops/helper.py": "from ..central.store import db\n",
            "edge/central/store/db.py": "",
        },
    )
    assert _broken(root, "the gateway half never reaches the centre") == [
        ("edge.gateway.service", "edge.ops.helper", "edge.central.store.db")
    ]
    assert _broken(root, "shared packages never reach either half") == [("edge.ops.helper", "edge.central.store.db")]
    assert _broken(root, "the centre never reaches the gateway runtime") == []


def test_a_package_init_that_imports_the_other_half_is_caught(tmp_path: Path) -> None:
    """`import edge.contract.topics` runs edge/contract/__init__.py first: what that imports is reached too."""
    root = _tree(
        tmp_path,
        {
            "edge/contract/__init__.py": "import firmware_bridge.link\n",
            "edge/contract/topics.py": "",
            "edge/central/collector.py": "from edge.contract.topics import X\n",
            "firmware_bridge/link/__init__.py": "",
        },
    )
    assert _broken(root, "the centre never reaches the gateway runtime") == [
        ("edge.central.collector", "edge.contract", "firmware_bridge.link")
    ]
    assert _broken(root, "the contract imports neither half") == [("edge.contract", "firmware_bridge.link")]


def test_only_the_dev_users_may_import_the_dev_tools(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "edge/devtools/postgres.py": "",
            "edge/central/store.py": "import edge.devtools.postgres as pg\n",
            "edge/bench/store.py": "from edge.devtools import postgres\n",
            "edge/cli.py": "from edge.devtools.postgres import PostgresServer\n",
        },
    )
    assert _broken(root, "production code never imports the dev tools") == [
        ("edge.central.store", "edge.devtools.postgres")
    ]


def test_the_command_prints_the_graph_and_fails_on_a_broken_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert "  edge.gateway -> " in out and "edge.contract (" in out
    assert "[ok] the gateway half never reaches the centre" in out

    root = _tree(
        tmp_path,
        {
            "edge/gateway/distribution.py": "from edge.central.distribution import manifest\n",
            "edge/central/distribution/manifest.py": "",
        },
    )
    assert main(["--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "  edge.gateway -> edge.central (1)" in out
    assert "[1 broken] the gateway half never reaches the centre" in out
    assert (
        "edge.gateway.distribution -> edge.central.distribution.manifest (line 1 of edge.gateway.distribution)" in out
    )
