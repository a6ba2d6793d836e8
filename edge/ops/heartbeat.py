"""Heartbeats: each loop that must keep moving (a camera's face thread, the outbox forwarder) beats once per
iteration; the watchdog pings systemd only while every registered heartbeat is fresh.

A timer thread that pings on its own would keep a gateway "healthy" while its face thread is blocked on a dead
encoder or its forwarder on a stuck socket; tying the ping to the loops' progress lets systemd restart it.
A loop that ends on purpose (a video file read to its end, a component stopped) retires its heartbeat.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Heartbeat:
    def __init__(self, name: str, max_age_s: float, clock: Callable[[], float]) -> None:
        self.name = name
        self.max_age_s = max_age_s
        self._clock = clock
        self.last = clock()
        self.retired = False

    def beat(self) -> None:
        self.last = self._clock()

    def retire(self) -> None:
        self.retired = True

    def age_s(self) -> float:
        return self._clock() - self.last


class Heartbeats:
    """The registry the watchdog checks. Thread-safe: loops register from their own threads."""

    def __init__(self, max_age_s: float = 15.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._beats: dict[str, Heartbeat] = {}

    def register(self, name: str, max_age_s: float | None = None) -> Heartbeat:
        hb = Heartbeat(name, self.max_age_s if max_age_s is None else max_age_s, self._clock)
        with self._lock:
            self._beats[name] = hb
        return hb

    def stale(self) -> list[str]:
        """Names of loops that have not beaten within their max age, e.g. ['faces-cam-1 (42s)']."""
        with self._lock:
            beats = list(self._beats.values())
        return [f"{b.name} ({b.age_s():.0f}s)" for b in beats if not b.retired and b.age_s() > b.max_age_s]

    def names(self) -> list[str]:
        with self._lock:
            return [b.name for b in self._beats.values() if not b.retired]
