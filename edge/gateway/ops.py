"""What `edge gateway run` adds around a Gateway for systemd and Prometheus: the heartbeats the watchdog checks,
READY/WATCHDOG/RELOADING/STOPPING through sd_notify, and the metrics endpoint. Kept out of the Gateway itself so
in-process tests and the demo run the same gateway without a notify socket or a port."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from edge.config.model import GatewayConfig
from edge.gateway.service import Gateway
from edge.ops.heartbeat import Heartbeats
from edge.ops.metrics import MetricsServer
from edge.ops.supervision import Supervision

log = logging.getLogger(__name__)


def gateway_status(gw: Gateway) -> str:
    """One line for `systemctl status`: what an IT person looks at first."""
    s = gw.snapshot()
    connected = bool(gw.transport is not None and gw.transport.connected)
    parts = [
        "online" if connected else "broker unreachable",
        f"outbox {s['outbox_depth']}",
        f"{len(s['readers'])} reader(s)",
        f"{len(s['cameras'])} camera(s) {s['fps']} fps",
    ]
    if s["alarms"]:
        parts.append("ALARM " + "; ".join(a.split(":", 1)[0] for a in s["alarms"]))
    return ", ".join(parts)


class GatewayOps:
    def __init__(self, cfg: GatewayConfig, env: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.heartbeats = Heartbeats(Supervision.heartbeat_max_age_s(env))
        self._env = env
        self.supervision: Supervision | None = None
        self.metrics_server: MetricsServer | None = None

    def attach(self, gw: Gateway) -> None:
        """Before gw.start(): open the metrics endpoint (a taken port is logged: metrics never stop a gate)."""
        self.supervision = Supervision.from_env(self.heartbeats, status=lambda: gateway_status(gw), env=self._env)
        m = self.cfg.metrics
        if m.enabled:
            server = MetricsServer(gw.metrics.registry, m.host, m.port)
            try:
                server.start()
                self.metrics_server = server
            except OSError as exc:
                log.error("metrics endpoint %s:%d not available (%s); the gateway runs without it", m.host, m.port, exc)
        self._gw = gw

    def ready(self) -> None:
        assert self.supervision is not None
        self.supervision.ready(gateway_status(self._gw))

    def reloading(self) -> None:
        assert self.supervision is not None
        self.supervision.reloading()

    def reloaded(self) -> None:
        assert self.supervision is not None
        self.supervision.reloaded(gateway_status(self._gw))

    def stopping(self) -> None:
        if self.supervision is not None:
            self.supervision.stopping()

    def close(self) -> None:
        if self.metrics_server is not None:
            self.metrics_server.stop()
