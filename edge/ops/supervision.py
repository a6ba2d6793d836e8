"""Everything a long-running `edge` process tells systemd, in one place: READY=1 once started, WATCHDOG=1 from
its heartbeats (edge.ops.watchdog), RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 on exit.

Used by `edge gateway run`. A server process (collector, notifier) hooks in the same way:

    sup = Supervision.from_env(heartbeats)   # heartbeats: its loops' Heartbeat objects
    ...start...; sup.ready("collecting"); ...; sup.stopping()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from edge.ops.heartbeat import Heartbeats
from edge.ops.sdnotify import SdNotifier, watchdog_interval_s
from edge.ops.watchdog import Watchdog


class Supervision:
    def __init__(
        self,
        notifier: SdNotifier,
        heartbeats: Heartbeats,
        watchdog_s: float | None,
        status: Callable[[], str] | None = None,
    ) -> None:
        self.notifier = notifier
        self.heartbeats = heartbeats
        self.watchdog: Watchdog | None = None
        self.is_ready = False
        if watchdog_s is not None and notifier.enabled:
            # systemd recommends pinging at half the period; a third leaves room on a loaded machine.
            self.watchdog = Watchdog(notifier, heartbeats, watchdog_s / 3, status)

    @classmethod
    def from_env(
        cls, heartbeats: Heartbeats, status: Callable[[], str] | None = None, env: Mapping[str, str] | None = None
    ) -> Supervision:
        return cls(SdNotifier.from_env(env), heartbeats, watchdog_interval_s(env), status)

    @staticmethod
    def heartbeat_max_age_s(env: Mapping[str, str] | None = None, default: float = 15.0) -> float:
        """A loop counts as stuck after half the watchdog period: the ping that follows is withheld and systemd
        restarts the process within WatchdogSec of the loop's last beat plus one ping interval."""
        period = watchdog_interval_s(env)
        return default if period is None else period / 2

    def ready(self, status: str) -> None:
        """READY=1 and the watchdog thread; later calls do nothing (a caller may poll for readiness)."""
        if self.is_ready:
            return
        self.is_ready = True
        self.notifier.ready(status)
        if self.watchdog is not None:
            self.watchdog.start()

    def reloading(self) -> None:
        self.notifier.reloading()

    def reloaded(self, status: str) -> None:
        self.notifier.notify("READY=1", f"STATUS={status}")

    def stopping(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        self.notifier.stopping()
        self.notifier.close()
