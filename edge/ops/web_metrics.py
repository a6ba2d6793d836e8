"""Metrics of the web app (`edge server run`), edge_web_*: requests by route and status with their latency, the
live viewers, the gateways the Gates page sees online.

Why a pure ASGI middleware and not a per-route decorator: it sees every request, including the ones refused
before a handler runs (401, 403 from the login dependency, 413 from the body limit), and labels them by the
route's *template* (`/s/{site_id}/class/{class_name}`), never the path a client typed — so a scanner cannot grow
the label set without bound. Gauges are read from the app's own state at scrape time (nothing on the hot path).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from edge.ops.metrics import SnapshotCollector

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods kept as labels; any other word a client sends is 'other' (a label per invented method would grow the
series without bound — review 2)."""


class WebMetrics:
    """`registry` to serve; `middleware(app)` wraps the ASGI app; `watch(live_viewers, gateways_online)` adds the
    gauges read at scrape time."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "edge_web_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "edge_web_request_seconds",
            "Time to the response's first byte, by route template (a live stream counts until it starts).",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0, 5.0),
            registry=self.registry,
        )

    def watch(self, live_viewers: Callable[[], int], gateways_online: Callable[[], tuple[int, int]]) -> None:
        def produce() -> Iterable[Metric]:
            viewers = GaugeMetricFamily("edge_web_live_viewers", "Browsers connected to a live stream (Today).")
            viewers.add_metric([], float(live_viewers()))
            online, known = gateways_online()
            gw = GaugeMetricFamily("edge_web_gateways", "Gateways the Gates page knows, by state.", labels=["state"])
            gw.add_metric(["online"], float(online))
            gw.add_metric(["not_online"], float(known - online))
            return [viewers, gw]

        self.registry.register(SnapshotCollector(produce))

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            start = time.perf_counter()
            status = {"code": 500}
            timed = {"done": False}

            def record() -> None:
                if timed["done"]:
                    return
                timed["done"] = True
                route = str(getattr(scope.get("route"), "path", "unmatched"))
                self.seconds.labels(route).observe(time.perf_counter() - start)
                method = str(scope.get("method", ""))
                self.requests.labels(route, method if method in METHODS else "other", str(status["code"])).inc()

            async def send_recorded(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = int(message["status"])
                    record()
                await send(message)

            try:
                await app(scope, receive, send_recorded)
            finally:
                record()  # an exception before the response started counts as the 500 it becomes

        return wrapped
