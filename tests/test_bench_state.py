"""`edge bench state` runs end to end (a store, a broker with TLS, the distributor, a gateway) and reports a
figure for each follower; the figures themselves are the bench's to print, not this test's to judge."""

from __future__ import annotations

from pathlib import Path

from edge.bench.state import run_bench


def test_bench_state_reports_each_follower(tmp_path: Path) -> None:
    result = run_bench(f"sqlite:///{tmp_path / 'centre.sqlite'}", rounds=2, students=20, poll_s=0.5, work=tmp_path)
    figures = result["edit_to_in_force_ms"]
    assert set(figures) == {"collector", "notifier", "gateway"}
    assert all(f["n"] == 2 for f in figures.values()), figures
    assert result["not_in_force_within_60s"] == {"collector": 0, "notifier": 0, "gateway": 0}
