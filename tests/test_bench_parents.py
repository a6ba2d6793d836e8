"""`edge bench parents` runs end to end on a tiny school (a smoke test: every page answered 200 for every sampled
parent; the figures themselves are printed by the bench, never asserted)."""

from __future__ import annotations

from edge.bench.parents import bench_parents, table


def test_bench_parents_smoke() -> None:
    out = bench_parents("sqlite", students=30, days=5, samples=3)
    assert set(out["pages"]) == {"home", "child", "child_last_month", "api_children", "settings"}
    for name, m in out["pages"].items():
        assert m["n"] == 3 and m["errors"] == 0, (name, m)
    assert out["absence_requests"] == 3
    assert "| child |" in table(out)
