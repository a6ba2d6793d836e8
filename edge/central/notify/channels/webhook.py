"""Webhook: a JSON POST to the school's own app, a Zalo OA / messaging integration or a school information system.

Headers: `X-Edge-Timestamp` (Unix seconds), `X-Edge-Signature: sha256=<hex HMAC-SHA256(secret,
"<timestamp>.<body>")>` — the receiver recomputes it and refuses a body older than a few minutes (replay) — and
`Idempotency-Key`, the notice's key (percent-encoded outside `[A-Za-z0-9/:@._~-]`, channels/base.py `header_key`), so
a receiver that stores keys drops a repeat after a crash between "sent" and "recorded"."""

from __future__ import annotations

import hashlib
import hmac
import time

from edge.central.notify.channels.base import Outcome, RateLimiter, header_key, post
from edge.central.notify.messages import Notice
from edge.config.central import WebhookChannel

SIGNATURE_HEADER = "X-Edge-Signature"
TIMESTAMP_HEADER = "X-Edge-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, max_age_s: float = 300.0) -> bool:
    """The receiver's check (used by the tests' server; a school's app does the same in its language)."""
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        return False
    return age <= max_age_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


class Webhook:
    honours_idempotency = True

    def __init__(self, cfg: WebhookChannel) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.limiter = RateLimiter(cfg.rate_per_s, cfg.burst)

    def send(self, notice: Notice) -> Outcome:
        body = notice.payload_bytes()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "edge-notify/1",
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(self.cfg.secret, ts, body),
            "Idempotency-Key": header_key(notice.key),
        }
        return post(self.cfg.url, body, headers, self.cfg.timeout_s)

    def close(self) -> None:
        pass
