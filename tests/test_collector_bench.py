"""`edge bench collector` end to end on a small run: every check-in stored once (checked in the database), the
per-event CPU figures read from /proc and the publisher's clock, the table and the JSON."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edge.cli import cli


def test_small_run_stores_everything_and_reports_cpu(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "collector", "--events", "600", "--gateways", "3", "--store", "sqlite", "--json", str(out)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    (run,) = json.loads(out.read_text())["runs"]
    assert (run["stored"], run["lost"], run["duplicated"], run["seq_complete_per_gateway"]) == (600, 0, 0, True)
    for key in ("collector_cpu_us_per_event", "broker_cpu_us_per_event", "publisher_cpu_us_per_event"):
        assert isinstance(run[key], float) and 0 < run[key] < 100_000, (key, run[key])
    assert "CPU µs/event" in r.output and str(run["stored_per_s"]) in r.output
