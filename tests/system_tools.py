"""The programs the suite runs for real, and what a test does when one is missing.

On a developer's machine a missing program skips the tests that need it, with the reason (and the command that
installs it). Under CI (`CI=true` in the environment, as GitHub Actions, GitLab CI and most others set it) the
same test FAILS: a CI run exists to prove the product works, and a suite that passed because PostgreSQL,
Chromium, Mosquitto or the AVR toolchain was absent proves nothing. `scripts/bootstrap.sh --dev` installs them all.

Tests say what they need with the `needs` mark (`pytestmark = pytest.mark.needs("chromium")`, checked by
tests/conftest.py before the test runs) or, inside a fixture, with `require("postgresql")`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

INSTALL = "run scripts/bootstrap.sh --dev"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def in_ci() -> bool:
    """True when the environment says this is a CI run (CI=true, 1 or yes)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _on_path(*names: str) -> str | None:
    missing = [n for n in names if shutil.which(n) is None]
    return f"{', '.join(missing)} not found on PATH" if missing else None


def _postgresql() -> str | None:
    from edge.central.store.pg_bin import PostgresMissing, find_pg_bin

    try:
        find_pg_bin("initdb")
        find_pg_bin("pg_ctl")
    except PostgresMissing as exc:
        return str(exc)
    return None


def _chromium() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    return f"{', '.join(missing)} not installed (Debian chromium + chromium-driver)" if missing else None


def _mosquitto() -> str | None:
    from edge.devtools.mosquitto import find_mosquitto

    try:
        find_mosquitto()
    except FileNotFoundError as exc:
        return str(exc)
    return None


TOOLS: dict[str, Callable[[], str | None]] = {
    "postgresql": _postgresql,
    "chromium": _chromium,
    "mosquitto": _mosquitto,
    "avr": lambda: _on_path("make", "cc", "avr-gcc", "simavr"),
    "systemd-analyze": lambda: _on_path("systemd-analyze"),
}
"""name -> a check returning what is missing (None when the tool is there)."""


def problem(tool: str) -> str | None:
    """What is missing for `tool` (a key of TOOLS), or None."""
    return TOOLS[tool]()


def unavailable(reason: str) -> NoReturn:
    """Skip the current test with `reason`; under CI, fail it instead."""
    if in_ci():
        ci = os.environ["CI"]
        pytest.fail(f"CI={ci}: a tool the suite needs is missing: {reason} ({INSTALL})", pytrace=False)
    pytest.skip(f"{reason} ({INSTALL}; under CI=true this fails)")


def require(*tools: str) -> None:
    """Skip (or under CI fail) the current test unless every tool named is installed."""
    for tool in tools:
        reason = problem(tool)
        if reason is not None:
            unavailable(f"{tool}: {reason}")


def missing_tools() -> dict[str, str]:
    """Every tool of TOOLS that is missing here, with why (for the session's report header)."""
    return {name: reason for name in TOOLS if (reason := problem(name)) is not None}
