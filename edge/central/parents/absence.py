"""Absence requests ("xin phép nghỉ"): a guardian asks for days off with a reason; the form teacher (or the
office) approves — each school day of the request becomes an excuse (the existing `excuses` table, so the one
attendance rule says "excused" and the notifier sends no absence notice) — or declines. Every step is audited
in the same transaction as the change; the parent sees the decision in the app.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from edge.central.attendance.calendar import SchoolCalendar
from edge.central.notify.directory import SchoolDirectory
from edge.central.notify.jobs import enqueue
from edge.central.notify.planner import JobSpec, job_key
from edge.central.web import audit
from edge.central.web.db import WebDb, WebTx
from edge.central.web.school_day import record_excuse

MAX_DAYS = 31
REASON_MAX = 500


class RequestRefused(ValueError):
    """A request that cannot be made or decided as asked (`reason` keys the message shown)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True)
class AbsenceRequest:
    id: int
    site_id: str
    person_id: str
    guardian_id: str
    first_day: date
    last_day: date
    reason: str
    state: str
    created_at: float
    decided_by: str | None
    decided_at: float | None


_COLS = "id, site_id, person_id, guardian_id, first_day, last_day, reason, state, created_at, decided_by, decided_at"


def _row(r: dict[str, Any]) -> AbsenceRequest:
    return AbsenceRequest(
        int(r["id"]),
        r["site_id"],
        r["person_id"],
        r["guardian_id"],
        date.fromisoformat(r["first_day"]),
        date.fromisoformat(r["last_day"]),
        r["reason"],
        r["state"],
        float(r["created_at"]),
        r["decided_by"],
        None if r["decided_at"] is None else float(r["decided_at"]),
    )


def ask(
    db: WebDb,
    calendar: SchoolCalendar,
    site_id: str,
    person_id: str,
    guardian_id: str,
    first: date,
    last: date,
    reason: str,
    today: date,
    ip: str | None,
) -> AbsenceRequest:
    text = " ".join(reason.split())
    if not text:
        raise RequestRefused("no_reason")
    if len(text) > REASON_MAX or any(ord(c) < 32 for c in text):
        raise RequestRefused("bad_reason")
    if last < first:
        raise RequestRefused("bad_dates")
    if (last - first).days >= MAX_DAYS:
        raise RequestRefused("too_long")
    if first < today - timedelta(days=7):
        raise RequestRefused("too_old")
    if not school_days(calendar, first, last):
        raise RequestRefused("no_school_day")
    t = time.time()
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO absence_requests (site_id, person_id, guardian_id, first_day, last_day, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (site_id, person_id, guardian_id, first.isoformat(), last.isoformat(), text, t),
        )
        rid = int(tx.query("SELECT max(id) AS id FROM absence_requests WHERE site_id = ?", (site_id,))[0]["id"])
        detail = {"request": rid, "person_id": person_id, "first": first.isoformat(), "last": last.isoformat()}
        audit.record(tx, f"guardian:{guardian_id}", "absence_request", {**detail, "reason": text}, ip, site_id, at=t)
    got = get(db, site_id, rid)
    assert got is not None
    return got


def school_days(calendar: SchoolCalendar, first: date, last: date) -> list[date]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in days if calendar.is_school_day(d)]


def get(db: WebDb, site_id: str, request_id: int) -> AbsenceRequest | None:
    r = db.one(f"SELECT {_COLS} FROM absence_requests WHERE site_id = ? AND id = ?", (site_id, request_id))
    return None if r is None else _row(r)


def of_students(db: WebDb, site_id: str, person_ids: list[str], *, pending_only: bool = False) -> list[AbsenceRequest]:
    if not person_ids:
        return []
    marks = ", ".join("?" for _ in person_ids)
    sql = f"SELECT {_COLS} FROM absence_requests WHERE site_id = ? AND person_id IN ({marks})"
    if pending_only:
        sql += " AND state = 'pending'"
    return [_row(r) for r in db.query(sql + " ORDER BY first_day DESC, id DESC", (site_id, *person_ids))]


_DECISION = {
    ("approved", "vi"): "{school}: đơn xin phép nghỉ của {name} ({dates}) đã được đồng ý.",
    ("declined", "vi"): "{school}: đơn xin phép nghỉ của {name} ({dates}) không được đồng ý; xin liên hệ giáo viên.",
    ("approved", "en"): "{school}: the request for {name} to be away ({dates}) was approved.",
    ("declined", "en"): "{school}: the request for {name} to be away ({dates}) was declined; please ask the teacher.",
}


def decision_notices(d: SchoolDirectory, req: AbsenceRequest, state: str, now: datetime) -> list[JobSpec]:
    """The parent is told the decision through the notifier's job table: each guardian of the child on their own
    channel and language, with retries, exactly once (the key holds the request's id and the decision)."""
    person = d.students.get(req.person_id)
    if person is None:
        return []
    local = d.calendar.local(now)
    dates = req.first_day.strftime("%d/%m") + (
        "" if req.last_day == req.first_day else "–" + req.last_day.strftime("%d/%m")
    )
    out = []
    for g in d.guardians.get(req.person_id, []):
        lang = "vi" if g.language == "vi" else "en"
        text = _DECISION[(state, lang)].format(school=d.school.name, name=person.name, dates=dates)
        kind = f"request-{req.id}"
        out.append(
            JobSpec(
                job_key(d.id, req.person_id, local.date(), kind, g.guardian_id),
                d.id,
                req.person_id,
                local.date(),
                kind,
                g.guardian_id,
                g.channel,
                g.language,
                f"request_{state}",
                f"{local:%H:%M}",
                text,
                text.split(":", 1)[0],
                None,
                g.phone,
                g.email,
                {"name": person.name, "dates": dates, "state": state},
            )
        )
    return out


class _StoreTx:
    """The web app's open transaction seen as the store's `Tx` (what the notifier's `enqueue` writes through)."""

    def __init__(self, tx: WebTx) -> None:
        self.tx = tx
        self.engine: str = tx.engine
        self.raw: Any = tx.conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.tx.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.tx.execute(sql, row)


def decide(
    db: WebDb,
    d: SchoolDirectory,
    request_id: int,
    approve: bool,
    by_user: str,
    ip: str | None,
    now: datetime,
) -> AbsenceRequest:
    """Approve (the request's school days become excuses, reason "xin phép: …") or decline a pending request;
    the decision, its audit row and the notices telling the guardians are one transaction.
    RequestRefused("decided") when it was decided already."""
    site_id, calendar = d.id, d.calendar
    t = time.time()
    with db.transaction() as tx:
        rows = tx.query(f"SELECT {_COLS} FROM absence_requests WHERE site_id = ? AND id = ?", (site_id, request_id))
        if not rows:
            raise RequestRefused("unknown")
        req = _row(rows[0])
        if req.state != "pending":
            raise RequestRefused("decided")
        state = "approved" if approve else "declined"
        tx.execute(
            "UPDATE absence_requests SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?",
            (state, by_user, t, request_id),
        )
        excused = []
        if approve:
            for day in school_days(calendar, req.first_day, req.last_day):
                record_excuse(tx, site_id, req.person_id, day, f"xin phép: {req.reason}", by_user, t)
                excused.append(day.isoformat())
        told = enqueue(_StoreTx(tx), decision_notices(d, req, state, now), now=t)
        detail = {"request": request_id, "person_id": req.person_id, "state": state, "excused": excused, "told": told}
        audit.record(tx, by_user, f"absence_request_{state}", detail, ip, site_id, at=t)
    got = get(db, site_id, request_id)
    assert got is not None
    return got
