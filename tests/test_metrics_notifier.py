"""The notifier's Prometheus metrics after real traffic through a real webhook receiver: a notice sent after one
failed attempt, one dead-lettered on a 400, the send latency histogram, the queue read from the store."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from edge.central.notify import jobs as q
from edge.central.notify.directory import load_directories
from edge.central.notify.hook import NotifyHook, connect
from edge.central.notify.receivers import HttpReceiver
from edge.central.notify.worker import Notifier
from edge.central.store import open_store
from edge.ops.metrics import MetricsServer
from edge.ops.server_metrics import NotifierMetrics
from tests.helpers import wait_until
from tests.metrics_support import scrape, value
from tests.notify_support import SECRET, central, checkin


def test_notifier_metrics_after_real_traffic(tmp_path: Path) -> None:
    receiver = HttpReceiver(secret=SECRET, dedupe=True)
    began = time.monotonic()
    first_try = {"minh_anh-g1": True}

    def respond(body: dict[str, Any], _h: dict[str, str]) -> tuple[int, dict[str, str]] | None:
        if body["guardian_id"] == "minh_anh-g2":
            return 400, {}  # permanent: dead-lettered
        if first_try.pop(str(body["guardian_id"]), False):
            return 503, {}  # temporary: retried
        return None

    receiver.responder = respond
    cfg = central(tmp_path, receiver.url)
    d = load_directories(cfg)["s1"]
    url = f"sqlite:///{tmp_path}/central.sqlite"
    store = open_store(url)

    def job_counts() -> list[tuple[str, str, str, int]]:
        conn, dialect = connect(url)
        try:
            return q.status(conn, dialect, errors=0).counts
        finally:
            conn.close()

    metrics = NotifierMetrics(job_counts)
    server = MetricsServer(metrics.registry)
    server.start()
    before, _ = scrape(server.url)
    store.store_batch([checkin(d, "07:12")], on_stored=NotifyHook({"s1": d}))
    queued, _ = scrape(server.url)
    notifier = Notifier(cfg.notify, {"s1": d}, lambda: connect(url), observe=metrics.observe)
    notifier.start()
    try:
        wait_until(lambda: notifier.counters["sent"] == 1 and notifier.counters["dead"] == 1, 30, "sent and dead")
        samples, types = scrape(server.url)
    finally:
        notifier.stop()
        server.stop()
        receiver.close()
        store.close()

    assert not any(k[0] in ("edge_notify_notices_total", "edge_notify_jobs") for k in before), "nothing yet"
    assert value(queued, "edge_notify_queue_depth", channel="app") == 2
    labels = {"site": "s1", "channel": "app", "kind": "arrived"}
    assert value(samples, "edge_notify_notices_total", **labels, outcome="sent") == 1
    assert value(samples, "edge_notify_notices_total", **labels, outcome="failed") == 1
    assert value(samples, "edge_notify_notices_total", **labels, outcome="dead") == 1
    assert value(samples, "edge_notify_send_seconds_count", channel="app") == 3
    # in seconds: the three sends happened during this test (a unit check, not a bound on how fast)
    assert 0 < value(samples, "edge_notify_send_seconds_sum", channel="app") <= 3 * (time.monotonic() - began)
    assert value(samples, "edge_notify_queue_depth", channel="app") == 0
    assert value(samples, "edge_notify_jobs", kind="arrived", channel="app", status="sent") == 1
    assert value(samples, "edge_notify_jobs", kind="arrived", channel="app", status="dead") == 1
    assert types["edge_notify_send_seconds"] == "histogram" and types["edge_notify_notices"] == "counter"
    # the sample Grafana dashboard's notifier panels ask only for series that exist
    dashboard = (Path(__file__).parent.parent / "edge/ops/grafana/edge-gateways.json").read_text()
    used = set(re.findall(r"edge_notify_[a-z0-9_]+", dashboard))
    assert used and used <= {name for name, _ in samples}, used - {name for name, _ in samples}
