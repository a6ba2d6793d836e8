"""The systemd watchdog thread ("sd-watchdog"): WATCHDOG=1 every interval while every heartbeat is fresh; no
ping (and a STATUS line naming the stuck loop) while one is not, so systemd's WatchdogSec= restarts the process.

It never pings on its own account: the proof of health is the loops' heartbeats (edge.ops.heartbeat).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from edge.ops.heartbeat import Heartbeats
from edge.ops.sdnotify import SdNotifier

log = logging.getLogger(__name__)


class Watchdog:
    def __init__(
        self,
        notifier: SdNotifier,
        heartbeats: Heartbeats,
        interval_s: float,
        status: Callable[[], str] | None = None,
    ) -> None:
        self.notifier = notifier
        self.heartbeats = heartbeats
        self.interval_s = interval_s
        self.status = status
        self.pings = 0
        self.withheld = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def check(self) -> bool:
        """One round: ping if healthy (True), else report the stuck loops and withhold the ping (False)."""
        stuck = self.heartbeats.stale()
        if stuck:
            self.withheld += 1
            msg = "stuck: " + ", ".join(stuck)
            if self.withheld == 1 or self.withheld % 10 == 0:
                log.error("watchdog: %s; not pinging systemd (it restarts the service after WatchdogSec)", msg)
            self.notifier.status(msg)
            return False
        if self.withheld:
            log.warning("watchdog: every loop is moving again after %d withheld ping(s)", self.withheld)
            self.withheld = 0
        status = None
        if self.status is not None:
            try:
                status = self.status()
            except Exception as exc:  # a status line must never cost the ping
                status = f"status unavailable: {exc}"
        self.notifier.watchdog(status)
        self.pings += 1
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check()
