"""The CLI's one convention (#25): edge/cli.py builds the root group and registers COMMANDS; every command — group,
subcommand or top-level command — is defined in its package's `commands.py`; every `--help` runs; and loading the
CLI (what `edge --help` costs on a Pi) imports no service, benchmark or web stack."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from edge import cli as cli_module
from edge.cli import COMMANDS, cli

CLI_SOURCE = Path(cli_module.__file__)


def _tree(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _tree(sub, (*path, name))


EVERY_COMMAND = [path for path, _ in _tree(cli)]


def test_cli_py_defines_only_the_root_group() -> None:
    """No decorator in cli.py makes a command besides `cli` itself (an inline group is the old second convention)."""
    tree = ast.parse(CLI_SOURCE.read_text(encoding="utf-8"))
    defined = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(target, ast.Attribute) and target.attr in {"command", "group"}:
                    defined.append(node.name)
    assert defined == ["cli"]
    assert cli.callback is not None and cli.callback.__module__ == "edge.cli"


def test_every_top_level_command_comes_from_the_one_list() -> None:
    assert len(COMMANDS) == len(cli.commands), "a name registered twice, or a command added outside COMMANDS"
    assert {id(c) for c in COMMANDS} == {id(c) for c in cli.commands.values()}


@pytest.mark.parametrize("path", [p for p in EVERY_COMMAND if p], ids=" ".join)
def test_every_command_lives_in_a_commands_module(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert command.callback is not None
    module = command.callback.__module__
    assert module.startswith("edge.") and module.endswith(".commands"), f"edge {' '.join(path)} is defined in {module}"


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=lambda p: " ".join(("edge", *p)))
def test_every_help_runs(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="edge")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: {' '.join(('edge', *path))} ")


# What a command imports when it runs, never when the CLI loads: each is seconds of CPU on a Pi for `edge --help`
# (before #25, edge/bench/security.py's command pulled the whole gateway runtime and paho into every start).
NOT_AT_START = (
    "edge.gateway.service",
    "edge.central.collector.service",
    "edge.central.notify.worker",
    "edge.central.web.app",
    "edge.demo.runner",
    "edge.gateway.doctor",
    "edge.ops.provision",
    "edge.bench.notify",
    "edge.bench.push",
    "edge.bench.security",
    "edge.bench.state",
    "edge.bench.collector",
    "edge.bench.web",
    "fastapi",
    "paho",
    "psycopg",
    "onnxruntime",
)


def test_loading_the_cli_imports_no_runtime() -> None:
    code = "import json, sys; import edge.cli; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = set(json.loads(out.stdout))
    assert "edge.cli" in loaded
    assert sorted(m for m in NOT_AT_START if m in loaded) == []
