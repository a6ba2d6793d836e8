"""Login rate limiting and the bound on concurrent password hashes.

Behind the documented reverse proxy many staff share one address (or all of them do, if the proxy's address is
not trusted for X-Forwarded-For), and anyone can type any user name. So no bucket that a stranger can fill may
refuse the right password from another place:

- the hard lock is keyed on (address, user name): 5 failures in 15 min lock that name *from that address* only;
- per user name (any address) and per address (any name), failures only slow the next attempt down, by a delay
  that doubles per failure past the threshold, capped at a few seconds (argon2id's own cost does the rest).

Each attempt is recorded *before* its hash is checked (`begin`), so a burst of concurrent guesses cannot slip
past the lock while the hashes run; a success takes its own record back (`succeeded`). At most `verify_slots`
argon2id verifications run at once (64 MiB and a core each): beyond that a login is answered "busy" at once
instead of queueing hashes until memory runs out.

In memory (one server process); a restart forgets, which is acceptable against guessing at argon2id speed."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Gate:
    """What `begin` decided: refused for `locked_s` seconds (nothing recorded), or go on after `delay_s`."""

    locked_s: float = 0.0
    delay_s: float = 0.0


class LoginLimiter:
    def __init__(
        self,
        *,
        per_pair: int = 5,
        slow_user_after: int = 5,
        slow_ip_after: int = 20,
        first_delay_s: float = 0.25,
        max_delay_s: float = 3.0,
        window_s: float = 900.0,
        verify_slots: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_pair = per_pair
        self.slow_user_after = slow_user_after
        self.slow_ip_after = slow_ip_after
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.window_s = window_s
        self.clock = clock
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(verify_slots)

    @staticmethod
    def _keys(username: str, ip: str) -> tuple[str, str, str]:
        return f"p:{ip}\x00{username}", f"u:{username}", f"ip:{ip}"

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._attempts.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def _delay(self, count: int, threshold: int) -> float:
        if count < threshold:
            return 0.0
        return min(self.max_delay_s, self.first_delay_s * 2.0 ** min(count - threshold, 20))

    def begin(self, username: str, ip: str) -> Gate:
        """Check this attempt and, unless it is locked out, record it (as a failure until `succeeded`)."""
        now = self.clock()
        pair, user, addr = self._keys(username, ip)
        with self._lock:
            q = self._recent(pair, now)
            if len(q) >= self.per_pair:
                return Gate(locked_s=q[len(q) - self.per_pair] + self.window_s - now)
            delay = max(
                self._delay(len(self._recent(user, now)), self.slow_user_after),
                self._delay(len(self._recent(addr, now)), self.slow_ip_after),
            )
            for key in (pair, user, addr):
                self._recent(key, now).append(now)
            if len(self._attempts) > 100_000:  # a flood of random names: forget the idle ones
                for k in [k for k, v in self._attempts.items() if not v]:
                    del self._attempts[k]
            return Gate(delay_s=delay)

    def succeeded(self, username: str, ip: str) -> None:
        """The password was right: the name's failures are forgotten, and this attempt leaves the address's."""
        pair, user, addr = self._keys(username, ip)
        with self._lock:
            self._attempts.pop(pair, None)
            self._attempts.pop(user, None)
            q = self._attempts.get(addr)
            if q:
                q.pop()

    def try_verify_slot(self) -> bool:
        """Take one of the hash slots without waiting; False when all are busy. Pair with `release_verify_slot`."""
        return self._slots.acquire(blocking=False)

    def release_verify_slot(self) -> None:
        self._slots.release()
