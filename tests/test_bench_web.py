"""`edge bench web` with tiny numbers: the generator, the app in its child process, every measurement and the
table run end to end (figures are not judged here: a benchmark, not a timed test)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edge.bench.web import class_names, school_days
from edge.cli import cli


def test_school_shape() -> None:
    days = school_days(7)
    assert len(days) == 7 and all(d.weekday() < 5 for d in days)
    assert len(set(class_names(50))) == 50 and class_names(4) == ["6A", "7A", "8A", "9A"]


def test_bench_web_smoke(tmp_path: Path) -> None:
    out = tmp_path / "web.json"
    args = ["bench", "web", "--students", "60", "--days", "25", "--classes", "4", "--viewers", "3", "--samples", "3"]
    r = CliRunner().invoke(cli, [*args, "--sse-events", "4", "--json", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["generate"]["checkins"] > 60 * 25 * 0.9
    assert all(m["errors"] == 0 for group in ("pages", "api", "reports") for m in doc[group].values())
    assert doc["sse"]["deliveries"] + doc["sse"]["missing"] == 3 * 4
    assert "| live: 3 SSE viewers" in r.output
