"""edge_web_* (edge/ops/web_metrics.py): requests counted by route template — a scanner's random paths all land
on one 'unmatched' label — statuses as answered (refusals before any handler included), gauges read at scrape."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from edge.ops.web_metrics import WebMetrics
from tests.web_support import SITE, make_web


def test_routes_are_labelled_by_template_and_refusals_counted(tmp_path: Path) -> None:
    ctx, app = make_web(tmp_path)
    metrics = WebMetrics()
    metrics.watch(lambda: 3, lambda: (1, 2))
    with TestClient(metrics.middleware(app), follow_redirects=False) as c:
        assert c.get("/login").status_code == 200
        for i in range(20):  # a scanner
            assert c.get(f"/wp-admin/{i}.php").status_code in (401, 303, 404)
        assert c.get(f"/s/{SITE}/class/6A").status_code in (303, 401)  # not logged in: refused before the handler
        for i in range(5):  # invented methods share one label
            c.request(f"BREW{i}", "/login")
    text = generate_latest(metrics.registry).decode()
    ctx.close()
    assert 'edge_web_requests_total{method="GET",route="/login",status="200"} 1.0' in text
    assert 'route="unmatched"' in text and "wp-admin" not in text
    assert 'route="/s/{site_id}/class/{class_name}"' in text and "/class/6A" not in text
    assert "BREW" not in text and 'method="other"' in text
    assert "edge_web_live_viewers 3.0" in text
    assert 'edge_web_gateways{state="online"} 1.0' in text and 'edge_web_gateways{state="not_online"} 1.0' in text
