"""`edge bench parents` runs end to end on a tiny school (a smoke test: every page answered 200 for every sampled
parent; the figures themselves are printed by the bench, never asserted)."""

from __future__ import annotations

from typing import Any

from edge.bench.parents import bench_parents, table


def test_bench_parents_smoke() -> None:
    out = bench_parents("sqlite", students=30, days=5, samples=3)
    assert set(out["pages"]) == {"home", "child", "child_last_month", "api_children", "settings"}
    for name, m in out["pages"].items():
        assert m["n"] == 3 and m["errors"] == 0, (name, m)
    assert out["absence_requests"] == 3
    assert "| child |" in table(out)


def test_side_by_side_table_of_two_stores() -> None:
    from edge.bench.parents import side_by_side

    def run(store: str, p95: float) -> dict[str, Any]:
        page = {"n": 3, "p50": 1.5, "p95": p95, "max": 30.0, "errors": 0}
        return {"store": store, "pages": {"home": page}, "loadavg_before": [1.0, 1, 1], "loadavg_after": [2.0, 1, 1]}

    runs = [run("sqlite", 2.5), run("postgresql", 9.5)]
    text = side_by_side(runs)
    assert "| home | 1.5 / 2.5 | 1.5 / 9.5 |" in text and "postgresql [1.0, 1, 1] -> [2.0, 1, 1]" in text
