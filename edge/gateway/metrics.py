"""The gateway's Prometheus metrics. Events are counted where they happen (check-ins, latencies); levels
(outbox depth, fps, device states, alarms) are read from the health snapshot at scrape time, so the metrics and
the MQTT health report can never disagree.

Names follow the Prometheus conventions: `edge_gateway_` prefix, base units (seconds, bytes), `_total` for
counters, labels for the dimension (decision, method, camera, reader, controller, alarm).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from edge.contract.checkin import CheckIn
from edge.ops.metrics import SnapshotCollector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DECISION_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
CAMERA_STATES = ("starting", "running", "error", "ended", "stopped", "opening", "reconnecting")
LINK_STATES = ("starting", "connected", "disconnected", "stopped")
ALARMS = (
    "outbox_over_cap",
    "storage_failed",
    "door_held_open",
    "tamper",
    "controller_offline",
    "loop_stuck",
    "distribution_refused",
    "distribution_incomplete",
)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.checkins = Counter(
            "edge_gateway_checkins", "Check-ins committed to the outbox.", ["decision", "method", "gate"], registry=r
        )
        self.publish_latency = Histogram(
            "edge_gateway_publish_latency_seconds",
            "Check-in publish to the broker's PUBACK.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.receipt_latency = Histogram(
            "edge_gateway_receipt_latency_seconds",
            "Check-in publish to the collector's receipt (stored in the central database).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decision_latency = Histogram(
            "edge_gateway_decision_latency_seconds",
            "A face becoming eligible to the track's decision.",
            ["camera"],
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self._snapshot: Callable[[], dict[str, Any]] | None = None
        r.register(SnapshotCollector(self._levels))

    # event hooks (called from the gateway's threads) ---------------------------------------------------
    def on_checkin(self, event: CheckIn) -> None:
        self.checkins.labels(event.decision, event.method, event.gate).inc()

    def on_latency(self, kind: str, seconds: float) -> None:
        (self.publish_latency if kind == "puback" else self.receipt_latency).observe(seconds)

    def decision_observer(self, camera: str) -> Callable[[float], None]:
        return self.decision_latency.labels(camera).observe

    def read_levels_from(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        """The health snapshot to read gauges from at scrape time (set once the gateway has started)."""
        self._snapshot = snapshot

    # scrape time ----------------------------------------------------------------------------------------
    def _levels(self) -> Iterable[Metric]:
        if self._snapshot is None:
            return []
        s = self._snapshot()
        out: list[Metric] = []

        def gauge(name: str, doc: str, value: float | None, labels: dict[str, str] | None = None) -> None:
            g = GaugeMetricFamily(name, doc, labels=list(labels or {}))
            if value is not None:
                g.add_metric(list((labels or {}).values()), float(value))
                out.append(g)

        def counter(name: str, doc: str, value: float) -> None:
            out.append(CounterMetricFamily(name, doc, value=float(value)))

        info = InfoMetricFamily("edge_gateway_build", "Gateway software and identity.")
        info.add_metric([], {"version": str(s["version"]), "site": s["site_id"], "gateway": s["gateway_id"]})
        out.append(info)
        gauge("edge_gateway_uptime_seconds", "Seconds since the gateway started.", s["uptime_s"])
        gauge(
            "edge_gateway_outbox_depth", "Check-ins in the outbox (not yet confirmed by a receipt).", s["outbox_depth"]
        )
        gauge(
            "edge_gateway_outbox_oldest_age_seconds",
            "Age of the oldest check-in in the outbox (0 when empty).",
            s["outbox_oldest_age_s"] or 0.0,
        )
        gauge("edge_gateway_outbox_last_seq", "Last sequence number allocated.", s["last_seq"])
        gauge("edge_gateway_inflight", "Check-ins published, awaiting PUBACK.", s["inflight"])
        gauge(
            "edge_gateway_awaiting_receipt",
            "Check-ins acknowledged by the broker, awaiting a receipt.",
            s["awaiting_receipt"],
        )
        counter("edge_gateway_published", "Check-in publishes (re-sends included).", s["published"])
        counter("edge_gateway_confirmed", "Check-ins confirmed by a collector receipt.", s["confirmed"])
        counter(
            "edge_gateway_checkins_lost_storage",
            "Check-ins decided but not stored (disk full).",
            s["checkins_lost_storage"],
        )
        gauge(
            "edge_gateway_clock_synced", "1 when the wall clock is NTP-synchronised.", 1.0 if s["clock_synced"] else 0.0
        )
        gauge("edge_gateway_fps", "Frames processed per second, all cameras.", s["fps"])
        gauge("edge_gateway_device_events_backlog", "Device events waiting for the broker.", s["device_events_backlog"])

        fps = GaugeMetricFamily("edge_gateway_camera_fps", "Frames processed per second.", labels=["camera"])
        captured = CounterMetricFamily(
            "edge_gateway_camera_frames_captured", "Frames read from the camera.", labels=["camera"]
        )
        dropped = CounterMetricFamily(
            "edge_gateway_camera_frames_dropped", "Frames dropped because recognition was behind.", labels=["camera"]
        )
        cam_state = GaugeMetricFamily(
            "edge_gateway_camera_state", "1 for the camera's current state.", labels=["camera", "state"]
        )
        for name, c in s["cameras"].items():
            fps.add_metric([name], float(c["fps"]))
            captured.add_metric([name], float(c["captured"]))
            dropped.add_metric([name], float(c["dropped"]))
            for st in sorted({*CAMERA_STATES, c["state"]}):
                cam_state.add_metric([name, st], 1.0 if st == c["state"] else 0.0)
        out += [fps, captured, dropped, cam_state]

        rd_state = GaugeMetricFamily(
            "edge_gateway_reader_state", "1 for the reader's current state.", labels=["reader", "state"]
        )
        cards = CounterMetricFamily("edge_gateway_reader_cards", "Card reads.", labels=["reader"])
        bad = CounterMetricFamily(
            "edge_gateway_reader_bad_frames", "Serial frames that failed to decode.", labels=["reader"]
        )
        for name, r in s["readers"].items():
            for st in sorted({*LINK_STATES, r["state"]}):
                rd_state.add_metric([name, st], 1.0 if st == r["state"] else 0.0)
            cards.add_metric([name], float(r["cards"]))
            bad.add_metric([name], float(r["bad_frames"]))
        out += [rd_state, cards, bad]

        ctl_state = GaugeMetricFamily(
            "edge_gateway_controller_state",
            "1 for the gate controller's current state.",
            labels=["controller", "state"],
        )
        locked = GaugeMetricFamily(
            "edge_gateway_controller_locked", "1 while the gate is locked.", labels=["controller"]
        )
        for name, c in s["controllers"].items():
            for st in sorted({*LINK_STATES, str(c["state"])}):
                ctl_state.add_metric([name, st], 1.0 if st == c["state"] else 0.0)
            locked.add_metric([name], 1.0 if c["locked"] else 0.0)
        out += [ctl_state, locked]

        alarm = GaugeMetricFamily("edge_gateway_alarm", "1 while the alarm is raised.", labels=["alarm"])
        active = {a.split(":", 1)[0] for a in s["alarms"]}
        for name in sorted({*ALARMS, *active}):
            alarm.add_metric([name], 1.0 if name in active else 0.0)
        out.append(alarm)
        return out
