"""The parents' own session kind (table parent_sessions, cookie `edge_parent`): one row per signed-in device,
apart from staff sessions (another cookie, another table, its own CSRF token), so a parent's cookie can never
open a staff page and the office can list and end a parent's devices.

Every request checks the store: a guardian removed from the roster (no guardians row left for the school and
guardian id) loses access at that request, and the session is ended with `roster` as the reason.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from edge.central.web.db import WebDb

COOKIE = "edge_parent"
TTL_S = 90 * 24 * 3600.0
"""A phone stays signed in for a school term or so: the parent's own device, ended by them or the office."""
TOUCH_EVERY_S = 300.0
"""last_seen_at is written at most this often (a page view is a read, not a write, most of the time)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ParentSession:
    token_hash: str
    site_id: str
    guardian_id: str
    csrf: str
    device: str
    created_at: float
    last_seen_at: float
    children: tuple[str, ...]
    """The person ids of this guardian's children in the store, read at this request."""
    guardian_ids: tuple[str, ...]
    """The guardians rows that are this parent (one per child when the school's file gave each its own id)."""
    name: str
    language: str
    channel: str


def create(db: WebDb, site_id: str, guardian_id: str, device: str) -> str:
    token = secrets.token_urlsafe(32)
    t = time.time()
    db.execute(
        "INSERT INTO parent_sessions (token_hash, site_id, guardian_id, csrf, device, created_at, last_seen_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (_hash(token), site_id, guardian_id, secrets.token_urlsafe(24), device[:200], t, t, t + TTL_S),
    )
    return token


def lookup(db: WebDb, token: str | None) -> ParentSession | None:
    if not token or len(token) > 100:
        return None
    t = time.time()
    row = db.one(
        "SELECT token_hash, site_id, guardian_id, csrf, device, created_at, last_seen_at FROM parent_sessions"
        " WHERE token_hash = ? AND ended_at IS NULL AND expires_at > ?",
        (_hash(token), t),
    )
    if row is None:
        return None
    own = db.query(
        "SELECT phone, email FROM guardians WHERE site_id = ? AND guardian_id = ?", (row["site_id"], row["guardian_id"])
    )
    if not own:  # removed from the roster: no access from now on
        end(db, row["token_hash"], "roster")
        return None
    # a parent of two children has a guardians row for each (the CSV gives each its own id): the rows with the
    # phone or e-mail address the code went to are the same person's
    phone, email = own[0]["phone"], (own[0]["email"] or "").lower() or None
    rows = db.query(
        "SELECT person_id, guardian_id, name, language, channel FROM guardians WHERE site_id = ? AND (guardian_id = ?"
        " OR (phone IS NOT NULL AND phone = ?) OR (email IS NOT NULL AND lower(email) = ?)) ORDER BY person_id",
        (row["site_id"], row["guardian_id"], phone, email),
    )
    if t - float(row["last_seen_at"]) > TOUCH_EVERY_S:
        db.execute("UPDATE parent_sessions SET last_seen_at = ? WHERE token_hash = ?", (t, row["token_hash"]))
    return ParentSession(
        row["token_hash"],
        row["site_id"],
        row["guardian_id"],
        row["csrf"],
        row["device"],
        float(row["created_at"]),
        float(row["last_seen_at"]),
        tuple(dict.fromkeys(r["person_id"] for r in rows)),
        tuple(sorted({r["guardian_id"] for r in rows})),
        rows[0]["name"],
        rows[0]["language"],
        rows[0]["channel"],
    )


def end(db: WebDb, token_hash: str, by: str) -> bool:
    return (
        db.execute(
            "UPDATE parent_sessions SET ended_at = ?, ended_by = ? WHERE token_hash = ? AND ended_at IS NULL",
            (time.time(), by, token_hash),
        )
        > 0
    )


def devices(db: WebDb, site_id: str, guardian_id: str) -> list[dict[str, Any]]:
    """The guardian's signed-in devices, newest first (a short id, never the token's hash in full)."""
    rows = db.query(
        "SELECT token_hash, device, created_at, last_seen_at FROM parent_sessions WHERE site_id = ? AND guardian_id = ?"
        " AND ended_at IS NULL AND expires_at > ? ORDER BY created_at DESC",
        (site_id, guardian_id, time.time()),
    )
    return [{**r, "id": r["token_hash"][:16]} for r in rows]


def end_device(db: WebDb, site_id: str, guardian_id: str, short_id: str, by: str) -> bool:
    for d in devices(db, site_id, guardian_id):
        if d["id"] == short_id:
            return end(db, d["token_hash"], by)
    return False


def end_all(db: WebDb, site_id: str, guardian_id: str, by: str) -> int:
    return db.execute(
        "UPDATE parent_sessions SET ended_at = ?, ended_by = ? WHERE site_id = ? AND guardian_id = ?"
        " AND ended_at IS NULL",
        (time.time(), by, site_id, guardian_id),
    )


def active_count(db: WebDb, site_id: str, person_id: str) -> int:
    """Signed-in devices of the student's guardians (the office's Student page shows it, and ends them)."""
    row = db.one(
        "SELECT count(*) AS n FROM parent_sessions s WHERE s.site_id = ? AND s.ended_at IS NULL AND s.expires_at > ?"
        " AND s.guardian_id IN (SELECT guardian_id FROM guardians WHERE site_id = ? AND person_id = ?)",
        (site_id, time.time(), site_id, person_id),
    )
    return int(row["n"]) if row is not None else 0
