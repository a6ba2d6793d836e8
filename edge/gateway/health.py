"""Periodic health reports on {prefix}/{site}/{gateway}/health (QoS 0, not retained), and one at once after
every (re)connect, so whoever watches learns the outbox backlog as soon as the broker is back."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from edge.transport.base import Transport

log = logging.getLogger(__name__)


class HealthReporter:
    def __init__(
        self, transport: Transport, topic: str, interval_s: float, snapshot: Callable[[], dict[str, Any]]
    ) -> None:
        self.transport = transport
        self.topic = topic
        self.interval_s = interval_s
        self.snapshot = snapshot
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def poke(self) -> None:
        """Publish a report now (from any thread, e.g. the transport's connect callback): never blocks."""
        self._wake.set()

    def publish_now(self) -> None:
        if not self.transport.connected:
            return
        try:
            payload = json.dumps(self.snapshot(), separators=(",", ":")).encode()
            self.transport.publish(self.topic, payload, qos=0, retain=False)
        except Exception:
            log.exception("health report failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if not self._stop.is_set():
                self.publish_now()
