"""The one small interface every channel has, and the per-channel rate limit.

`send(notice)` answers with what the worker must do next: Accepted (done), RetryAfter (try again later, maybe at
the time the provider asked for) or PermanentFailure (no retry will help: a bad number, a rejected address —
dead-letter it with the reason). A channel never raises for a provider's failure or for a notice it cannot put
into its format (a control character where a header needs a line: PermanentFailure); it raises only for a bug,
and the worker dead-letters even that notice (edge/central/notify/worker.py), so no notice can stop a channel.
`honours_idempotency` says whether the receiving side drops a repeat of the same key, which decides whether a
crash between "sent" and "recorded" can show a parent the same message twice.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from edge.central.notify.messages import Notice


@dataclass(frozen=True)
class Accepted:
    detail: str = ""
    """The channel's answer, recorded with the attempt (HTTP status and body start, SMTP reply, MQTT mid)."""


@dataclass(frozen=True)
class RetryAfter:
    seconds: float | None
    """The provider's Retry-After, or None: the worker's exponential backoff decides."""
    reason: str
    pause_channel: bool = True
    """The provider looks down or is limiting us: the channel pauses. False when only this notice waits (one
    parent's device's push service failed while the others took it): the next notices go on at once."""


@dataclass(frozen=True)
class PermanentFailure:
    reason: str


Outcome = Accepted | RetryAfter | PermanentFailure


class Channel(Protocol):
    name: str
    honours_idempotency: bool
    limiter: RateLimiter

    def send(self, notice: Notice) -> Outcome: ...

    def close(self) -> None: ...


class RateLimiter:
    """Token bucket: `burst` sends at once, then `rate_per_s`. Thread-safe; the wait is interruptible. `clock`
    (monotonic seconds) is settable so that a test checks the arithmetic without timing it."""

    def __init__(self, rate_per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token; return how long to wait before using it (0 if one was there)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a token; False if `stop` was set meanwhile."""
        wait = self.reserve()
        if wait <= 0:
            return True
        if stop is None:
            time.sleep(wait)
            return True
        return not stop.wait(wait)


def http_outcome(status: int, body: bytes, retry_after: str | None) -> Outcome:
    """How an HTTP provider's answer maps onto the interface: 2xx (and 409 'already have it') accepted; 408, 425,
    429 and 5xx retried (honouring Retry-After in seconds); any other 4xx is permanent (bad number, bad auth)."""
    detail = f"HTTP {status} {body[:200].decode('utf-8', 'replace')}".strip()
    if 200 <= status < 300 or status == 409:
        return Accepted(detail)
    if status in (408, 425, 429) or status >= 500:
        seconds: float | None = None
        if retry_after is not None:
            try:
                seconds = max(0.0, float(retry_after))
            except ValueError:
                seconds = None
        return RetryAfter(seconds, detail)
    return PermanentFailure(detail)


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Outcome:
    """POST `body` and map the answer with `http_outcome`: the one HTTP call of the channels that speak to a
    provider over HTTP (webhook, SMS gateway). A network failure (refused, timeout, DNS) is a retry, never a raise."""
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return http_outcome(resp.status, resp.read(512), resp.headers.get("Retry-After"))
    except urllib.error.HTTPError as exc:
        return http_outcome(exc.code, exc.read(512) if exc.fp else b"", exc.headers.get("Retry-After"))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return RetryAfter(None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")


HEADER_SAFE = "/:@._~-"


def header_key(key: str) -> str:
    """The idempotency key as a header value: percent-encoded (RFC 3986) outside letters, digits and
    `/:@._~-`, so no key — whatever person id it was made from (Vietnamese letters, a control character from a
    roster loaded before the import refused them) — can break a header or add one. Keys of those characters,
    every key made from a checked roster, are sent unchanged; a receiver that wants the text back unquotes it."""
    return urllib.parse.quote(key, safe=HEADER_SAFE)
