"""The two installable halves (pyproject.toml's extras `gateway` and `centre` over the core dependencies): each half's
modules import only what its groups install, the `edge` command loads on either, and the lock files are the ones
pyproject.toml and the pins make. No network: the imports are read from source (tests/halves_support.py) and tried
in a subprocess where every module of the other groups' distributions is made unimportable."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from functools import cache
from pathlib import Path

import pytest

from edge.devtools import locks
from tests.halves_support import OURS, ROOT, closure, distributions_of, top_levels

ENTRIES = {
    "gateway": ("edge.gateway", "edge.camera", "firmware_bridge", "edge.recognition.commands"),
    "centre": (
        "edge.central",
        "edge.ops.server_metrics",
        "edge.ops.web_metrics",
        "edge.ops.provision",
        "edge.security.broker_plugin",
        "edge.security.broker_config",
        "edge.security.broker_reload",
    ),
}
"""What runs on each half: its packages, its processes' entry points and the commands used there."""
CLI = "edge.cli"
"""Loaded by every `edge` command on both halves; its lazy imports belong to each command's own half."""


@cache
def allowed(*groups: str) -> frozenset[str]:
    """The normalised names of the distributions `groups` install (declared + required, from installed metadata)."""
    declared = locks.declared()
    return frozenset(locks.closure(r for g in groups for r in declared.get(g, [])))


def unlisted(imported: dict[str, set[str]], groups: tuple[str, ...]) -> dict[str, list[str]]:
    ok = allowed(*groups)
    return {
        top: sorted(users)
        for top, users in imported.items()
        if not any(locks.norm(d) in ok for d in distributions_of(top))
    }


@pytest.mark.parametrize("half", ["gateway", "centre"])
def test_a_half_loads_only_what_its_groups_install(half: str) -> None:
    eager = closure(ENTRIES[half], lazy=False)
    assert unlisted(eager.third_party, ("core", half)) == {}


@pytest.mark.parametrize("half", ["gateway", "centre"])
def test_a_half_runs_only_what_its_groups_and_the_dlib_model_install(half: str) -> None:
    """Lazy imports too (code that runs later); dlib only where `model: dlib` asks for it."""
    everything = closure(ENTRIES[half], lazy=True, skip=[CLI])
    assert unlisted(everything.third_party, ("core", half, "dlib")) == {}


def test_the_command_line_loads_with_core_alone() -> None:
    """`edge` builds every command group at load (cli._register): that must not need a half's own packages."""
    assert unlisted(closure([CLI], lazy=False).third_party, ("core",)) == {}


def test_the_halves_differ() -> None:
    """The point of the split: a gateway installs no web stack, the centre no serial or dlib."""
    gateway, centre = allowed("core", "gateway"), allowed("core", "centre")
    assert {"fastapi", "psycopg", "aiosmtpd", "weasyprint", "uvicorn", "argon2-cffi"}.isdisjoint(gateway)
    assert {"pyserial", "dlib-bin", "face-recognition-models"}.isdisjoint(centre)


def _blocked(groups: tuple[str, ...]) -> list[str]:
    """Top-level modules of pinned distributions that `groups` do not install: every name their top_level.txt
    lists, and every third-party module our code imports (dlib's `dlib` is in no top_level.txt)."""
    ok = allowed(*groups)
    pinned = set(locks.current_pins())
    names = set(top_levels()) | set(closure(OURS, lazy=True).third_party)
    return sorted(
        top
        for top in names
        if (dists := distributions_of(top))
        and all(locks.norm(d) in pinned and locks.norm(d) not in ok for d in dists)
        and not top.startswith("_")
    )


def _run_without(groups: tuple[str, ...], body: str) -> subprocess.CompletedProcess[str]:
    """Python with every module outside `groups` unimportable (as on a machine that never installed it)."""
    script = textwrap.dedent(
        f"""
        import sys
        for name in {json.dumps(_blocked(groups))}:
            if name not in sys.modules:
                sys.modules[name] = None  # import raises ModuleNotFoundError, as when not installed
        """
    ) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_gateway_half_imports_and_runs_its_command_without_the_centre() -> None:
    r = _run_without(
        ("core", "gateway"),
        """
        import edge.gateway.service, edge.gateway.ops, edge.gateway.doctor, edge.recognition.commands
        import fastapi  # noqa: the block works
        """,
    )
    assert "ModuleNotFoundError: import of fastapi halted" in r.stderr, r.stderr
    r = _run_without(
        ("core", "gateway"),
        """
        sys.argv = ["edge", "gateway", "run", "--help"]
        from edge.cli import main
        main()
        """,
    )
    assert r.returncode == 0 and "--config" in r.stdout, r.stderr


def test_the_centre_half_imports_without_the_gateway() -> None:
    r = _run_without(
        ("core", "centre"),
        """
        import edge.central.web.app, edge.central.collector.service, edge.central.notify.worker
        import edge.ops.server_metrics, edge.cli
        import serial
        """,
    )
    assert "ModuleNotFoundError: import of serial halted" in r.stderr, r.stderr


def test_a_command_of_the_other_half_says_which_group_is_missing(tmp_path: Path) -> None:
    """As a gateway install's metadata would say: the extras of pyproject.toml, the centre's and dlib's absent."""
    groups = {g: sorted(locks.norm(r.name) for r in reqs) for g, reqs in locks.declared().items() if g != "core"}
    r = _run_without(
        ("core", "gateway"),
        f"""
        import edge.halves
        edge.halves.group_distributions = lambda: {groups!r}
        edge.halves.installed_groups = lambda: {{"gateway": True, "centre": False, "dlib": False, "dev": False}}
        sys.argv = ["edge", "server", "user", "list", "--store", "sqlite:///{tmp_path}/store.db"]
        from edge.cli import main
        main()
        """,
    )
    assert r.returncode == 1, r.stderr
    assert "edge: this command needs the Python module 'argon2'" in r.stderr, r.stderr
    assert "installed with the groups core, gateway, not centre." in r.stderr
    assert "scripts/bootstrap.sh --role centre" in r.stderr and "Traceback" not in r.stderr


def test_the_lock_files_are_cut_from_pyproject_and_the_pins() -> None:
    for name, text in locks.wanted().items():
        assert (ROOT / name).read_text(encoding="utf-8") == text, f"{name}: run python -m edge.devtools.locks"


def test_every_declared_requirement_is_pinned_within_its_range() -> None:
    pins = locks.current_pins()
    for group, reqs in locks.declared().items():
        for req in reqs:
            pin = pins.get(locks.norm(req.name))
            assert pin is not None, f"{req} ({group}) is pinned in no lock"
            assert req.specifier.contains(pin.version, prereleases=True), f"{pin.line} is outside {req} ({group})"


def test_a_lock_holds_only_what_its_role_installs() -> None:
    """Each lock installs on top of the ones below it alone: the gateway's lock needs nothing from the centre's."""
    for group, below in (("gateway", ("core",)), ("centre", ("core",)), ("dlib", ("core",))):
        held = {locks.norm(n) for g in (*below, group) for n in locks.read_lock(ROOT / locks.LOCKS[g])}
        for name in locks.read_lock(ROOT / locks.LOCKS[group]):
            for req in locks.requires(name):
                assert locks.norm(req.name) in held | {"pip"}, f"{name} ({group}) requires {req.name}, not in its locks"


def test_pyproject_names_the_groups_bootstrap_installs() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) == {"gateway", "centre", "dlib", "dev"}
    script = (ROOT / "scripts" / "bootstrap.sh").read_text()
    for name in locks.LOCKS.values():
        assert name in script
