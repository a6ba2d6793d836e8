"""Held absence batches in the store (migration 0006_absence_holds): one per (school, day, cut-off) whose gates were
not healthy when its absence notices fell due.

Life of a batch: `held` (the notifier created it, with its reasons and the notices it would have sent) → the office
RELEASES it (`releasing`: the web app records who and when; the notifier re-judges each student with the one
attendance rule and queues only who is still absent, then marks it `released` with the counts) or DROPS it
(`dropped`: nothing is ever sent for that cut-off). A cut-off with a batch in any state is never judged again by
the notifier's pass, so a held notice cannot slip out when the gates come back.

Functions take an open transaction with `execute` / `query` (edge.central.web.db.WebTx on either engine)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from edge.central.gates.evidence import DbTx
from edge.central.gates.judge import Reason
from edge.central.notify.planner import JobSpec

OPEN = ("held", "releasing")


@dataclass(frozen=True)
class HeldBatch:
    id: int
    site_id: str
    day: date
    cutoff: str
    status: str
    reasons: list[Reason]
    created_at: float
    decided_by: str | None
    decided_at: float | None
    done_at: float | None
    queued: int | None
    arrived_since: int | None
    notices: int
    students: int


@dataclass(frozen=True)
class HeldNotice:
    key: str
    person_id: str
    guardian_id: str
    name: str
    class_name: str
    channel: str


def _batch(r: dict[str, Any]) -> HeldBatch:
    return HeldBatch(
        int(r["id"]), r["site_id"], date.fromisoformat(r["day"]), r["cutoff"], r["status"],
        [Reason.of(x) for x in json.loads(r["reason"])], float(r["created_at"]), r["decided_by"], r["decided_at"],
        r["done_at"], r["queued"], r["arrived_since"], int(r["notices"] or 0), int(r["students"] or 0),
    )  # fmt: skip


_SELECT = (
    "SELECT h.*, (SELECT COUNT(*) FROM absence_hold_items i WHERE i.hold_id = h.id) AS notices, "
    "(SELECT COUNT(DISTINCT i.person_id) FROM absence_hold_items i WHERE i.hold_id = h.id) AS students "
    "FROM absence_holds h"
)


def cutoffs(tx: DbTx, site_id: str, day: date) -> dict[str, tuple[int, str]]:
    """The cut-offs of `day` that have a batch: {'HH:MM': (id, status)}."""
    rows = tx.query(
        "SELECT id, cutoff, status FROM absence_holds WHERE site_id = ? AND day = ?", (site_id, day.isoformat())
    )
    return {r["cutoff"]: (int(r["id"]), r["status"]) for r in rows}


def hold(
    tx: DbTx, site_id: str, day: date, cutoff: str, reasons: list[Reason], jobs: Iterable[JobSpec],
    names: dict[str, tuple[str, str]], *, now: float | None = None,
) -> int:  # fmt: skip
    """Create the batch (or find the one another notifier just made) and add the notices; returns its id."""
    tx.execute(
        "INSERT INTO absence_holds (site_id, day, cutoff, status, reason, created_at) VALUES (?, ?, ?, 'held', ?, ?) "
        "ON CONFLICT DO NOTHING",
        (
            site_id,
            day.isoformat(),
            cutoff,
            json.dumps([r.as_dict() for r in reasons]),
            time.time() if now is None else now,
        ),
    )
    row = tx.query(
        "SELECT id FROM absence_holds WHERE site_id = ? AND day = ? AND cutoff = ?", (site_id, day.isoformat(), cutoff)
    )
    hold_id = int(row[0]["id"])
    add(tx, hold_id, jobs, names)
    return hold_id


def add(tx: DbTx, hold_id: int, jobs: Iterable[JobSpec], names: dict[str, tuple[str, str]]) -> int:
    """Add notices to a held batch (a guardian added after the batch was made); returns how many were new."""
    new = 0
    for j in jobs:
        name, class_name = names.get(j.person_id, (j.person_id, ""))
        new += max(0, tx.execute(
            "INSERT INTO absence_hold_items (hold_id, key, person_id, guardian_id, name, class_name, channel) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (hold_id, j.key, j.person_id, j.guardian_id, name, class_name, j.channel),
        ))  # fmt: skip
    return new


def batches(tx: DbTx, site_id: str, *, status: Iterable[str] | None = None, limit: int = 100) -> list[HeldBatch]:
    """A school's batches, newest first (optionally only some statuses)."""
    sql, params = f"{_SELECT} WHERE h.site_id = ?", [site_id]
    wanted = list(status or [])
    if wanted:
        sql += f" AND h.status IN ({', '.join('?' * len(wanted))})"
        params += wanted
    return [
        _batch(r) for r in tx.query(f"{sql} ORDER BY h.day DESC, h.cutoff DESC, h.id DESC LIMIT ?", (*params, limit))
    ]


def batch(tx: DbTx, site_id: str, hold_id: int) -> HeldBatch | None:
    rows = tx.query(f"{_SELECT} WHERE h.site_id = ? AND h.id = ?", (site_id, hold_id))
    return _batch(rows[0]) if rows else None


def notices(tx: DbTx, hold_id: int) -> list[HeldNotice]:
    rows = tx.query(
        "SELECT key, person_id, guardian_id, name, class_name, channel FROM absence_hold_items WHERE hold_id = ? "
        "ORDER BY class_name, name, guardian_id",
        (hold_id,),
    )
    return [HeldNotice(**r) for r in rows]


def decide(tx: DbTx, site_id: str, hold_id: int, action: str, username: str, *, now: float | None = None) -> bool:
    """The office's decision on a `held` batch: 'release' or 'drop'. False if it is not held (any more)."""
    new = {"release": "releasing", "drop": "dropped"}[action]
    at = time.time() if now is None else now
    done = at if new == "dropped" else None
    n = tx.execute(
        "UPDATE absence_holds SET status = ?, decided_by = ?, decided_at = ?, done_at = ? "
        "WHERE site_id = ? AND id = ? AND status = 'held'",
        (new, username, at, done, site_id, hold_id),
    )
    return n == 1


def releasing(tx: DbTx, site_id: str) -> list[HeldBatch]:
    return batches(tx, site_id, status=["releasing"])


def finish_release(tx: DbTx, hold_id: int, queued: int, arrived_since: int, *, now: float | None = None) -> bool:
    """Mark a released batch done; False if another notifier did it first (then this one must queue nothing)."""
    n = tx.execute(
        "UPDATE absence_holds SET status = 'released', done_at = ?, queued = ?, arrived_since = ? "
        "WHERE id = ? AND status = 'releasing'",
        (time.time() if now is None else now, queued, arrived_since, hold_id),
    )
    return n == 1


def open_count(tx: DbTx, site_id: str) -> int:
    rows = tx.query("SELECT COUNT(*) AS n FROM absence_holds WHERE site_id = ? AND status = 'held'", (site_id,))
    return int(rows[0]["n"])


def registered_gateways(tx: DbTx, site_id: str) -> list[str]:
    """The school's registered, not revoked gateways (the registry of 0005_school_state)."""
    from edge.central.school.edits import active_gateways

    return active_gateways(tx, site_id)
