"""Metrics of the central processes, read from their own counters at scrape time (nothing added to their hot
paths). `collector_metrics(c)` for the batching collector (edge/central/collector); the notifier (#9) can add
its counters the same way once they carry a channel label (sent / failed by channel)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from edge.ops.metrics import MetricsServer, SnapshotCollector

log = logging.getLogger(__name__)


class _CollectorLike(Protocol):
    @property
    def stats(self) -> Any: ...


def collector_metrics(collector: _CollectorLike, registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """Register the collector's counters (edge_collector_*) in `registry` (a new one by default) and return it."""
    reg = registry or CollectorRegistry()

    def produce() -> Iterable[Metric]:
        s = collector.stats
        out: list[Metric] = []
        for name, doc in (
            ("received", "Check-in messages received from the broker."),
            ("stored", "Check-ins committed to the central store (first time seen)."),
            ("duplicates", "Check-ins already stored (a re-send): answered, not stored again."),
            ("receipts", "Receipts sent back to gateways."),
            ("batches", "Store transactions committed."),
        ):
            out.append(CounterMetricFamily(f"edge_collector_checkins_{name}", doc, value=float(getattr(s, name))))
        rejected = CounterMetricFamily(
            "edge_collector_checkins_rejected", "Check-ins dead-lettered, by reason.", labels=["reason"]
        )
        reasons: dict[str, int] = dict(getattr(s, "rejected_reasons", {}) or {})
        for reason, n in sorted(reasons.items()):
            rejected.add_metric([_reason_label(reason)], float(n))
        if not reasons:
            rejected.add_metric(["none"], 0.0)
        out.append(rejected)
        fatal = getattr(collector, "fatal", None)
        if fatal is not None:
            g = GaugeMetricFamily("edge_collector_store_failed", "1 once the store could not be written (exits 3).")
            g.add_metric([], 1.0 if fatal.is_set() else 0.0)
            out.append(g)
        return out

    reg.register(SnapshotCollector(produce))
    return reg


def _reason_label(reason: str) -> str:
    """Reasons can carry details ('too large: 70000 bytes'); the label keeps the kind, bounding cardinality."""
    return reason.split(":", 1)[0].strip()[:60] or "unknown"


def parse_listen(addr: str) -> tuple[str, int] | None:
    """'HOST:PORT' (or ':PORT' for 127.0.0.1) -> (host, port); 'off' / '' -> None. ValueError otherwise."""
    if addr.strip().lower() in ("", "off", "none", "0"):
        return None
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"metrics address {addr!r}: use HOST:PORT, e.g. 127.0.0.1:9109, or 'off'")
    return (host.strip("[]") or "127.0.0.1", int(port))


def serve_collector_metrics(collector: _CollectorLike, addr: str) -> MetricsServer | None:
    """The collector's /metrics on `addr`, or None when off or the port is taken (logged: never fatal)."""
    listen = parse_listen(addr)
    if listen is None:
        return None
    server = MetricsServer(collector_metrics(collector), *listen)
    try:
        server.start()
    except OSError as exc:
        log.error("metrics endpoint %s not available (%s); the collector runs without it", addr, exc)
        return None
    return server
