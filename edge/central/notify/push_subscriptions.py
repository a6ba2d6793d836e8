"""Parents' devices subscribed to Web Push, kept at the centre (table push_subscriptions, migration 0006), and
which device accepted which notice (push_deliveries).

The parents' app (issue #24 item 1) calls `add` with what the browser's PushManager.subscribe() returned
(`subscription.toJSON()`: endpoint, keys.p256dh, keys.auth) once the guardian is signed in, and `remove` when the
parent turns notices off on that device. The Web Push channel reads `of_guardian`, records each device's
acceptance with `record_delivery` and forgets a subscription the push service calls gone (404/410) with `drop`.

An endpoint is one browser on one device: a second `add` of the same endpoint (the app re-subscribing, or another
parent signing in on a shared phone) replaces the row, so one device never gets a notice twice under two names.
Every function takes a connection in autocommit mode and its dialect, like edge/central/notify/jobs.py.
"""

from __future__ import annotations

import base64
import binascii
import time
import unicodedata
import urllib.parse
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from edge.central.notify.jobs import Dialect, transaction
from edge.central.store.dialect import placeholders

MAX_ENDPOINT = 1000
"""Push services' endpoints are ~200 characters (FCM ~190, Mozilla ~230); a longer one is not a real endpoint."""
MAX_LABEL = 200
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_COLUMNS = "endpoint, site_id, guardian_id, p256dh, auth, label, user_agent, created_at, last_ok_at"


class SubscriptionError(ValueError):
    """The subscription the app sent is not one a push service could deliver to; the message says why."""


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    site: str
    guardian_id: str
    p256dh: str
    """The browser's ECDH public key (P-256, uncompressed point), base64url: the message is encrypted to it."""
    auth: str
    """The browser's 16-byte authentication secret, base64url."""
    label: str | None
    """What the parent called the device ("Mẹ's phone"), shown when they manage their devices."""
    user_agent: str | None
    created_at: float
    last_ok_at: float | None
    """When a push service last accepted a message for it."""


def b64url_decode(text: str) -> bytes:
    """base64url with or without padding (browsers send it without); binascii.Error for any other character."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _check_endpoint(endpoint: str) -> str:
    if not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise SubscriptionError(f"endpoint must be 1..{MAX_ENDPOINT} characters")
    url = urllib.parse.urlsplit(endpoint)
    if url.scheme == "https" and url.hostname:
        return endpoint
    if url.scheme == "http" and url.hostname in _LOOPBACK:
        return endpoint  # a push service on this machine (tests, the bench); browsers only ever give https
    raise SubscriptionError(f"endpoint {endpoint[:80]!r} is not an https:// URL")


def _check_keys(p256dh: str, auth: str) -> None:
    try:
        point = b64url_decode(p256dh)
        secret = b64url_decode(auth)
    except (binascii.Error, ValueError):
        raise SubscriptionError("keys.p256dh and keys.auth must be base64url") from None
    if len(point) != 65 or point[0] != 4:
        raise SubscriptionError("keys.p256dh must be an uncompressed P-256 point (65 bytes)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise SubscriptionError("keys.p256dh is not a point on P-256") from None
    if len(secret) != 16:
        raise SubscriptionError("keys.auth must be 16 bytes")


def _clean_text(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()[:MAX_LABEL]
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise SubscriptionError(f"{what} holds control characters")
    return text


def add(
    conn: Any, dialect: Dialect, *, site: str, guardian_id: str, endpoint: str, p256dh: str, auth: str,
    label: str | None = None, user_agent: str | None = None, now: float | None = None,
) -> Subscription:  # fmt: skip
    """Store (or replace) a device's subscription for a guardian; SubscriptionError if it cannot be delivered to.
    The caller has checked that the signed-in guardian is `guardian_id` of `site`."""
    _check_endpoint(endpoint)
    _check_keys(p256dh, auth)
    sub = Subscription(
        endpoint, site, guardian_id, p256dh, auth, _clean_text(label, "label"), _clean_text(user_agent, "user agent"),
        time.time() if now is None else now, None,
    )  # fmt: skip
    with transaction(conn, dialect):
        conn.execute(placeholders("DELETE FROM push_subscriptions WHERE endpoint = ?", dialect), (endpoint,))
        conn.execute(
            placeholders(f"INSERT INTO push_subscriptions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", dialect),
            (sub.endpoint, sub.site, sub.guardian_id, sub.p256dh, sub.auth, sub.label, sub.user_agent,
             sub.created_at, None),
        )  # fmt: skip
    return sub


def remove(conn: Any, dialect: Dialect, *, site: str, guardian_id: str, endpoint: str) -> bool:
    """A guardian turns notices off on one device; False if it was not theirs (or not there)."""
    cur = conn.execute(
        placeholders("DELETE FROM push_subscriptions WHERE endpoint = ? AND site_id = ? AND guardian_id = ?", dialect),
        (endpoint, site, guardian_id),
    )
    return int(cur.rowcount) > 0


def remove_guardian(conn: Any, dialect: Dialect, *, site: str, guardian_id: str) -> int:
    """Every device of a guardian (removed from the roster, or signed out everywhere); returns how many."""
    cur = conn.execute(
        placeholders("DELETE FROM push_subscriptions WHERE site_id = ? AND guardian_id = ?", dialect),
        (site, guardian_id),
    )
    return max(int(cur.rowcount), 0)


def of_guardian(conn: Any, dialect: Dialect, site: str, guardian_id: str) -> list[Subscription]:
    rows = conn.execute(
        placeholders(
            f"SELECT {_COLUMNS} FROM push_subscriptions WHERE site_id = ? AND guardian_id = ? "
            "ORDER BY created_at, endpoint",
            dialect,
        ),
        (site, guardian_id),
    ).fetchall()
    return [
        Subscription(r[0], r[1], r[2], r[3], r[4], r[5], r[6], float(r[7]), None if r[8] is None else float(r[8]))
        for r in rows
    ]


def drop(conn: Any, dialect: Dialect, endpoint: str) -> None:
    """The push service says the subscription is gone (404/410: the app was uninstalled, the parent revoked
    permission): forget it, so no later notice tries it again."""
    conn.execute(placeholders("DELETE FROM push_subscriptions WHERE endpoint = ?", dialect), (endpoint,))


def delivered(conn: Any, dialect: Dialect, job_key: str) -> set[str]:
    """Endpoints that already accepted the notice `job_key` (a retry or a restarted notifier skips them)."""
    rows = conn.execute(
        placeholders("SELECT endpoint FROM push_deliveries WHERE job_key = ?", dialect), (job_key,)
    ).fetchall()
    return {r[0] for r in rows}


def record_delivery(
    conn: Any, dialect: Dialect, job_key: str, endpoint: str, detail: str, *, now: float | None = None
) -> None:
    """A push service accepted the notice for this device: written at once, before the next device is tried,
    so a crash repeats at most the one device in flight."""
    at = time.time() if now is None else now
    with transaction(conn, dialect):
        conn.execute(
            placeholders(
                "INSERT INTO push_deliveries (job_key, endpoint, accepted_at, detail) VALUES (?,?,?,?) "
                "ON CONFLICT DO NOTHING",
                dialect,
            ),
            (job_key, endpoint, at, detail[:500]),
        )
        conn.execute(
            placeholders("UPDATE push_subscriptions SET last_ok_at = ? WHERE endpoint = ?", dialect), (at, endpoint)
        )
