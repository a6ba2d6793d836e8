"""Metrics of the central processes. `collector_metrics(c)` for the batching collector (edge/central/collector),
read from its own counters at scrape time (nothing added to its hot path). `NotifierMetrics` for the notifier
(edge/central/notify): its per-send hook counts each notice by channel and kind with the send's latency (the
notifier's own counters have no labels), and the queue is read from the store at scrape time (the store is the
queue: several notifiers may share it on PostgreSQL, so only the store knows its depth)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
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


JobCounts = Callable[[], list[tuple[str, str, str, int]]]
"""() -> [(kind, channel, status, count)] of the notification jobs in the store (edge.central.notify.jobs.status)."""

_OUTCOME = {"sent": "sent", "retried": "failed", "dead": "dead"}
_FINAL = ("sent", "dead")


class NotifierMetrics:
    """edge_notify_*: pass `observe` to the Notifier (its `observe=` hook), serve `registry`."""

    def __init__(self, job_counts: JobCounts | None = None, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.notices = Counter(
            "edge_notify_notices",
            "Send attempts by outcome: sent (accepted), failed (retried later), dead (given up: permanent or"
            " out of attempts).",
            ["site", "channel", "kind", "outcome"],
            registry=self.registry,
        )
        self.send_seconds = Histogram(
            "edge_notify_send_seconds",
            "Time one send took (the channel's provider answering), whatever the outcome.",
            ["channel"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=self.registry,
        )
        self.job_counts = job_counts
        if job_counts is not None:
            self.registry.register(SnapshotCollector(self._queue))

    def observe(self, site: str, channel: str, kind: str, outcome: str, seconds: float) -> None:
        self.notices.labels(site, channel, kind, _OUTCOME.get(outcome, outcome)).inc()
        self.send_seconds.labels(channel).observe(seconds)

    def _queue(self) -> Iterable[Metric]:
        assert self.job_counts is not None
        depth = GaugeMetricFamily(
            "edge_notify_queue_depth", "Notices waiting to be sent or being sent, by channel.", labels=["channel"]
        )
        jobs = GaugeMetricFamily(
            "edge_notify_jobs",
            "Notification jobs in the store by kind, channel and status.",
            labels=["kind", "channel", "status"],
        )
        waiting: dict[str, int] = {}
        for kind, channel, status, n in self.job_counts():
            jobs.add_metric([kind, channel, status], float(n))
            if status not in _FINAL:
                waiting[channel] = waiting.get(channel, 0) + n
            else:
                waiting.setdefault(channel, 0)
        for channel, n in sorted(waiting.items()):
            depth.add_metric([channel], float(n))
        return [depth, jobs]


def gates_metrics(
    registry: CollectorRegistry, gates_down: Callable[[], dict[str, bool]], held: Callable[[], int]
) -> None:
    """The "gates down" alarm and the held absence notices (edge/central/notify/absence.py), read at scrape time:
    `edge_notify_gates_down{site}` 1 while a school's gates are down (alert on it), and
    `edge_notify_absence_held_total` the absence notices held for the office since the notifier started."""

    def produce() -> Iterable[Metric]:
        down = GaugeMetricFamily(
            "edge_notify_gates_down",
            "1 while the school's gates are down (collector or a gateway away, stale, or taps stuck): absence "
            "notices are being held.",
            labels=["site"],
        )
        for site, is_down in sorted(gates_down().items()):
            down.add_metric([site], 1.0 if is_down else 0.0)
        total = CounterMetricFamily(
            "edge_notify_absence_held", "Absence notices held for the office (gates not healthy before the cut-off)."
        )
        total.add_metric([], float(held()))
        return [down, total]

    registry.register(SnapshotCollector(produce))


def serve_registry(registry: CollectorRegistry, addr: str, what: str) -> MetricsServer | None:
    """`registry` on `addr`, or None when off or the port is taken (logged: never fatal)."""
    listen = parse_listen(addr)
    if listen is None:
        return None
    server = MetricsServer(registry, *listen)
    try:
        server.start()
    except OSError as exc:
        log.error("metrics endpoint %s not available (%s); the %s runs without it", addr, exc, what)
        return None
    return server
