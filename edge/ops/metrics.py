"""A Prometheus endpoint any `edge` process can serve (gateway, collector, notifier): prometheus-client's WSGI
app on a named thread with a stop, over a registry of its own (so several gateways in one test process do not
share counters).

Usage in a server process:

    registry = CollectorRegistry()
    stored = Counter("edge_collector_checkins_stored_total", "…", registry=registry)
    server = MetricsServer(registry, "127.0.0.1", 9109); server.start(); …; server.stop()

Gauges that are cheaper to read than to keep up to date (an outbox depth, a camera's state) come from
`SnapshotCollector`: a function called at scrape time that yields metric families.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import Metric
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """Scrapes every 15 s would fill the log; errors still go through `log`."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics: " + format, *args)


class MetricsServer:
    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry
        self.host = host
        self.requested_port = port
        self.port = port
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve; raises OSError when the address is taken (the caller decides if that is fatal)."""
        server = make_server(
            self.host,
            self.requested_port,
            make_wsgi_app(self.registry),
            ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._server = server
        self.port = int(server.server_port)
        self._thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self, timeout: float = 2.0) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout)


class SnapshotCollector(Collector):
    """Adapts a function yielding metric families (read at scrape time) to the registry's Collector interface."""

    def __init__(self, produce: Callable[[], Iterable[Metric]]) -> None:
        self._produce = produce

    def collect(self) -> Iterable[Metric]:
        try:
            return list(self._produce())
        except Exception:  # a failing gauge must not fail the whole scrape
            log.exception("metrics snapshot failed")
            return []
