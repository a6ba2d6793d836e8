"""A missing program the suite needs (tests/system_tools.py) skips its tests on a developer's machine and FAILS
them under CI=true: a small pytest run in a subprocess with PATH emptied (so avr-gcc, simavr and systemd-analyze
are not found) loads the suite's conftest and reports what it could not run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = """
import pytest
from tests.system_tools import require


@pytest.mark.needs("avr")
def test_marked():
    pass


def test_with_a_fixture(firmware_build):
    pass


def test_required_inside():
    require("systemd-analyze")
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(TINY, encoding="utf-8")
    (tmp_path / "empty-bin").mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if k not in {"CI", "PATH", "PYTEST_ADDOPTS"}}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT), "PATH": str(tmp_path / "empty-bin"), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_missing_tool_is_a_failure(tmp_path: Path, ci: str) -> None:
    proc = _run(tmp_path, CI=ci)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    # the mark and the fixture fail the test's setup (errors), require() inside the test fails the test
    assert "= 1 failed, 2 errors in " in out and "skipped" not in out, out
    assert "ERROR test_tiny.py::test_marked - Failed: CI=" in out
    assert "ERROR test_tiny.py::test_with_a_fixture - Failed: CI=" in out
    assert "FAILED test_tiny.py::test_required_inside - Failed: CI=" in out
    assert out.count(f"CI={ci}: a tool the suite needs is missing: avr: ") == 4, out  # 2 reasons, 2 summary lines
    assert "avr-gcc, simavr not found on PATH" in out and "systemd-analyze: systemd-analyze not found" in out
    assert "tools: CI=true: a missing tool fails its tests; missing: avr (" in out


def test_without_ci_a_missing_tool_skips_with_its_reason(tmp_path: Path) -> None:
    proc = _run(tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "= 3 skipped in " in out and "failed" not in out and "error" not in out, out
    assert "scripts/bootstrap.sh --dev" in out and "under CI=true this fails" in out
    assert "tools: not CI: a missing tool skips its tests" in out
