"""Login rate limiting: failed attempts counted per user name and per client address in a sliding window.

Both keys matter: per name stops guessing one teacher's password from many addresses, per address stops one
machine trying many names. In memory (one server process per school); a restart forgets, which is acceptable
against guessing at argon2id speed."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(
        self,
        *,
        per_user: int = 5,
        per_ip: int = 20,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.window_s = window_s
        self.clock = clock
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after(self, username: str, ip: str) -> float:
        """Seconds until a login may be tried again for this name/address (0: now)."""
        now = self.clock()
        with self._lock:
            waits = []
            for key, limit in ((f"u:{username}", self.per_user), (f"ip:{ip}", self.per_ip)):
                q = self._recent(key, now)
                if len(q) >= limit:
                    waits.append(q[len(q) - limit] + self.window_s - now)
            return max(waits, default=0.0)

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (f"u:{username}", f"ip:{ip}"):
                self._recent(key, now).append(now)
            if len(self._fails) > 100_000:  # a flood of random names: forget the idle ones
                for k in [k for k, q in self._fails.items() if not q]:
                    del self._fails[k]

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._fails.pop(f"u:{username}", None)
