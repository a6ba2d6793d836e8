"""Login rate limiting and the bound on concurrent password hashes.

Behind the documented reverse proxy many staff share one address (or all of them do, if the proxy's address is
not trusted for X-Forwarded-For), and anyone can type any user name. So no bucket that a stranger can fill may
refuse the right password from another place:

- the hard lock is keyed on (address, user name): 5 failures in 15 min lock that name *from that address* only;
- per user name (any address) and per address (any name), failures only slow the next attempt down, by a delay
  that doubles per failure past the threshold, capped at a few seconds (argon2id's own cost does the rest). For a
  name the delay is a real *rate*: its attempts are spaced by it, one after the other (a thousand addresses
  guessing one account in parallel wait in one line), and an attempt that would wait over `max_wait_s` is refused.

Each attempt is recorded *before* its hash is checked (`begin`), so a burst of concurrent guesses cannot slip
past the lock while the hashes run; a success takes its own record back (`succeeded`). At most `verify_slots`
argon2id verifications run at once (64 MiB and a core each), one per address: a login waits a few seconds for a
slot (the 07:30 rush), then is answered "busy" instead of queueing hashes until memory runs out.

Memory is bounded whatever names a flood sends: each key keeps at most KEEP timestamps, and past MAX_KEYS the
least recently used keys are forgotten (an LRU); forgetting only ever forgets old failures.

In memory (one server process); a restart forgets, which is acceptable against guessing at argon2id speed."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 20_000
"""Keys remembered at most (three per attempt: pair, name, address); the least recently used go first."""
KEEP = 64
"""Timestamps kept per key: enough to count past every threshold and reach the longest delay."""


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
        max_wait_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_pair = per_pair
        self.slow_user_after = slow_user_after
        self.slow_ip_after = slow_ip_after
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self.clock = clock
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()
        self._next_at: OrderedDict[str, float] = OrderedDict()
        """Per user name past its threshold: when its next attempt may run (the spacing that makes it a rate)."""
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(verify_slots)
        self._busy: set[str] = set()
        """Addresses with a hash running: one slot per address, so one client cannot hold them all."""

    @staticmethod
    def _keys(username: str, ip: str) -> tuple[str, str, str]:
        return f"p:{ip}\x00{username}", f"u:{username}", f"ip:{ip}"

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._attempts.get(key)
        if q is None:
            q = self._attempts[key] = deque(maxlen=KEEP)
            while len(self._attempts) > MAX_KEYS:
                self._attempts.popitem(last=False)
        else:
            self._attempts.move_to_end(key)
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
            user_delay = self._delay(len(self._recent(user, now)), self.slow_user_after)
            delay = self._delay(len(self._recent(addr, now)), self.slow_ip_after)
            if user_delay > 0:  # this name's attempts run one after the other, `user_delay` apart
                start = max(now, self._next_at.get(user, now)) + user_delay
                if start - now > self.max_wait_s:
                    return Gate(locked_s=start - now)
                self._next_at[user] = start
                self._next_at.move_to_end(user)
                while len(self._next_at) > MAX_KEYS:
                    self._next_at.popitem(last=False)
                delay = max(delay, start - now)
            for key in (pair, user, addr):
                self._recent(key, now).append(now)
            return Gate(delay_s=delay)

    def succeeded(self, username: str, ip: str) -> None:
        """The password was right: the name's failures are forgotten, and this attempt leaves the address's."""
        pair, user, addr = self._keys(username, ip)
        with self._lock:
            self._attempts.pop(pair, None)
            self._attempts.pop(user, None)
            self._next_at.pop(user, None)
            q = self._attempts.get(addr)
            if q:
                q.pop()

    def try_verify_slot(self, ip: str = "") -> bool:
        """Take one of the hash slots without waiting; False when all are busy or this address already holds
        one. Pair with `release_verify_slot(ip)`."""
        with self._lock:
            if ip and ip in self._busy:
                return False
            if not self._slots.acquire(blocking=False):
                return False
            if ip:
                self._busy.add(ip)
            return True

    def release_verify_slot(self, ip: str = "") -> None:
        with self._lock:
            self._busy.discard(ip)
            self._slots.release()

    def keys(self) -> int:
        """How many keys are remembered (bounded by MAX_KEYS; for tests and metrics)."""
        with self._lock:
            return len(self._attempts)
