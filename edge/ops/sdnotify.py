"""A tiny sd_notify(3) client: one AF_UNIX datagram per message to $NOTIFY_SOCKET.

Why not the `sdnotify` package: its last release is from 2017 and the protocol is a single `sendto()` of
newline-separated `KEY=value` lines (systemd documents it as stable and meant to be reimplemented); the one
subtlety, Linux abstract sockets written `@name`, is handled here. Without $NOTIFY_SOCKET (not started by
systemd, or a unit that is not Type=notify) every call is a no-op, so the same code runs under a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class SdNotifier:
    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self._sock: socket.socket | None = None
        self.failed = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SdNotifier:
        return cls((os.environ if env is None else env).get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send `KEY=value` lines as one datagram; False when disabled or the socket refused it (logged, never
        raised: losing a notification must not stop the gateway)."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(lines).encode(), target)
            return True
        except OSError as exc:
            self.failed += 1
            log.warning("sd_notify to %s failed: %s", self.address, exc)
            return False

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def watchdog(self, status: str | None = None) -> bool:
        return self.notify("WATCHDOG=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        return self.notify("RELOADING=1", "STATUS=reloading the configuration")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval_s(env: Mapping[str, str] | None = None) -> float | None:
    """The watchdog period systemd asked for ($WATCHDOG_USEC, for this process per $WATCHDOG_PID), or None."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None
