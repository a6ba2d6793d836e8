"""Rules of the suite itself, checked on its source: a test module imports helpers (tests/*_support.py,
helpers.py), never another test module (whose edits would then break unrelated files); screenshots are taken
in one place, web_support.screenshot, which writes to the test's temporary folder unless scripts/screenshots.sh
asks for docs/screenshots/ (a test run changes no tracked file)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_no_test_module_imports_another() -> None:
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.split(".")[-1].startswith("test_"))
        for path in sorted(TESTS.glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_screenshots_are_taken_in_one_place() -> None:
    """Only web_support.screenshot saves one (to tmp_path, or where scripts/screenshots.sh says)."""
    calls = {"save_screenshot", "get_screenshot_as_file", "get_screenshot_as_png"}
    takers = sorted(
        path.name
        for path in TESTS.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in calls
    )
    assert takers == ["web_support.py"]
