"""Web Push: a notice to every device the guardian subscribed in the parents' app, through each device's push
service (RFC 8030), the payload encrypted for that device (RFC 8291, aes128gcm content coding, with Mozilla's
`http_ece`) and the school identified by VAPID (RFC 8292, a JWT signed with `py_vapid`). The HTTP request itself
is the standard library's, like every other channel (pywebpush would add requests and aiohttp for that alone).

One job per guardian, not per device. The job table's unique key (site, student, day, kind, guardian) stays the
one exactly-once rule for every channel, the collector's transaction needs no look-up of devices, and a device
subscribed between the tap and the send still gets the notice. Exactly once per device comes from push_deliveries
(job key, endpoint): a device's acceptance is written the moment its push service answers 201, so a retry —
another device's 429, a push service down, a notifier killed mid-send — sends only to the devices that have not
accepted. The one window left is a kill between a 201 and that row (one device, one message); the `Topic` header
(a hash of the key) makes the push service replace a repeat still waiting for the device, and the payload's
`idempotency_key` lets the app's service worker drop one that got through.

Answers, per device: 2xx accepted; 404/410 the subscription is gone and is deleted; 408/429/5xx and network
errors retried (the job waits for the longest Retry-After; the channel pauses only while no device of the guardian
has the notice — the push service or the network is likely down — not for one parent's flaky second device);
400/401/403/413 that device refused (a key that does not match, a body too large) — counted in the detail, not
retried on its own. The job is Accepted once no device needs a retry and at least one accepted, RetryAfter while
any device needs one, PermanentFailure if the guardian has no device or none could take it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from edge.central.notify import push_subscriptions as subs
from edge.central.notify.channels.base import Accepted, Outcome, PermanentFailure, RateLimiter, RetryAfter
from edge.central.notify.messages import Notice
from edge.config.central import WebPushChannel

MAX_PLAINTEXT = 3993
"""RFC 8291 §4: push services take a 4096-byte body; aes128gcm adds an 86-byte header, a 16-byte tag and 1 byte of
padding delimiter."""
JWT_LIFETIME_S = 12 * 3600
"""RFC 8292 §2: at most 24 h; the token is signed again after JWT_REUSE_S, well inside it."""
JWT_REUSE_S = 3600.0
GONE = (404, 410)
RETRY = (408, 425, 429)

Connect = Callable[[], tuple[Any, Any]]


class VapidKeyError(ValueError):
    """The VAPID key file is missing, unreadable, not a P-256 key or readable by others."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The applicationServerKey the parents' app passes to PushManager.subscribe() (uncompressed point)."""
    raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(raw)


def load_vapid_key(path: str | Path) -> ec.EllipticCurvePrivateKey:
    p = Path(path)
    try:
        mode = p.stat().st_mode
        pem = p.read_bytes()
    except OSError as exc:
        raise VapidKeyError(f"VAPID key {p}: {exc.strerror} (make one with `edge notify vapid-keygen`)") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VapidKeyError(f"VAPID key {p} is readable by others (mode {stat.S_IMODE(mode):o}): chmod 600 it")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise VapidKeyError(f"VAPID key {p} is not a PEM private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise VapidKeyError(f"VAPID key {p} is not a P-256 (prime256v1) EC key")
    return key


def write_vapid_key(path: str | Path, *, overwrite: bool = False) -> ec.EllipticCurvePrivateKey:
    """A new VAPID key written to `path` with mode 0600 from the start (never briefly world-readable).
    FileExistsError unless `overwrite`: a new key invalidates every device's subscription."""
    p = Path(path)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(p, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
    finally:
        os.close(fd)
    return key


def topic_of(key: str) -> str:
    """RFC 8030 §5.4 Topic (at most 32 base64url characters): the same notice sent twice replaces the first
    while it still waits at the push service."""
    return b64url(hashlib.sha256(key.encode()).digest())[:32]


def push_body(notice: Notice) -> bytes:
    """What the service worker receives: the notice's JSON (as the webhook and MQTT channels send it, contacts
    left out), its text cut if a very long name would push it past what a push service takes."""
    data = notice.payload()
    text = str(data["text"])
    keep = len(text)
    body = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    while len(body) > MAX_PLAINTEXT and keep > 0:
        keep -= max(1, (len(body) - MAX_PLAINTEXT) // 4)  # a character is 1-4 bytes: never cuts more than needed
        data["text"] = text[: max(0, keep)] + "…"
        body = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    return body


def encrypt(plaintext: bytes, p256dh: str, auth: str) -> bytes:
    """RFC 8291 aes128gcm body for one subscription: a fresh ephemeral key and salt for every message."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    return bytes(
        http_ece.encrypt(
            plaintext,
            salt=os.urandom(16),
            private_key=ephemeral,
            dh=subs.b64url_decode(p256dh),
            auth_secret=subs.b64url_decode(auth),
            version="aes128gcm",
        )
    )


@dataclass(frozen=True)
class _Answer:
    status: int | None
    """HTTP status, or None for a network error."""
    detail: str
    retry_after: float | None = None


class WebPush:
    honours_idempotency = False
    """Push services have no idempotency key; see the module docstring for what bounds a repeat."""

    def __init__(self, cfg: WebPushChannel, connect: Connect | None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.limiter = RateLimiter(cfg.rate_per_s, cfg.burst)
        self._vapid = Vapid02(load_vapid_key(cfg.vapid_key_file))
        self._connect = connect
        self._conn: Any = None
        self._dialect: Any = None
        self._tokens: dict[str, tuple[float, str]] = {}

    @property
    def public_key(self) -> str:
        return public_key_b64(self._vapid.private_key)

    def _store(self) -> tuple[Any, Any]:
        if self._conn is None:
            if self._connect is None:
                raise RuntimeError("the webpush channel needs the store (build_channel(..., connect=...))")
            self._conn, self._dialect = self._connect()
        return self._conn, self._dialect

    def authorization(self, endpoint: str) -> str:
        """`vapid t=<JWT>, k=<public key>` for the endpoint's origin (the JWT's audience), reused for an hour."""
        url = urllib.parse.urlsplit(endpoint)
        audience = f"{url.scheme}://{url.netloc}"
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is not None and now - cached[0] < JWT_REUSE_S:
            return cached[1]
        claims = {"aud": audience, "exp": int(now) + JWT_LIFETIME_S, "sub": self.cfg.subject}
        header = str(self._vapid.sign(claims)["Authorization"])
        self._tokens[audience] = (now, header)
        return header

    def post(self, sub: subs.Subscription, body: bytes, key: str) -> _Answer:
        req = urllib.request.Request(
            sub.endpoint,
            data=encrypt(body, sub.p256dh, sub.auth),
            method="POST",
            headers={
                "Authorization": self.authorization(sub.endpoint),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(self.cfg.ttl_s),
                "Urgency": self.cfg.urgency,
                "Topic": topic_of(key),
                "User-Agent": "edge-notify/1",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                return _Answer(resp.status, f"HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            text = (exc.read(200) if exc.fp else b"").decode("utf-8", "replace").strip()
            return _Answer(exc.code, f"HTTP {exc.code} {text}".strip(), _seconds(exc.headers.get("Retry-After")))
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            return _Answer(None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")

    def send(self, notice: Notice) -> Outcome:
        conn, dialect = self._store()
        devices = subs.of_guardian(conn, dialect, notice.site, notice.guardian_id)
        if not devices:
            return PermanentFailure("guardian has no device subscribed to Web Push (the parents' app)")
        done = subs.delivered(conn, dialect, notice.key)
        body = push_body(notice)
        accepted = len([d for d in devices if d.endpoint in done])
        gone: list[str] = []
        refused: list[str] = []
        retry: list[_Answer] = []
        for device in devices:
            if device.endpoint in done:
                continue
            answer = self.post(device, body, notice.key)
            if answer.status is not None and 200 <= answer.status < 300:
                subs.record_delivery(conn, dialect, notice.key, device.endpoint, answer.detail)
                accepted += 1
            elif answer.status in GONE:
                subs.drop(conn, dialect, device.endpoint)
                gone.append(answer.detail)
            elif answer.status is None or answer.status in RETRY or answer.status >= 500:
                retry.append(answer)
            else:
                refused.append(answer.detail)
        summary = f"{accepted} of {len(devices)} device(s) accepted"
        summary += f"; {len(gone)} gone (subscription removed)" if gone else ""
        summary += f"; {len(refused)} refused: {refused[0]}" if refused else ""
        if retry:
            waits = [a.retry_after for a in retry if a.retry_after is not None]
            # a device of this guardian has it: the push services work, only this notice waits for its other devices
            return RetryAfter(
                max(waits) if waits else None,
                f"{summary}; {len(retry)} to retry: {retry[0].detail}",
                pause_channel=accepted == 0,
            )
        if accepted:
            return Accepted(summary)
        return PermanentFailure(f"no device took the notice: {summary}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _seconds(retry_after: str | None) -> float | None:
    if retry_after is None:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        return None
