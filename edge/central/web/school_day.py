"""The pages' questions about a school day, answered through THE attendance rule (edge/central/attendance/rule.py)
so a 'late' here is the 'late' of the notices and the reports.

Reads are indexed: one school's check-ins in a time range (site_id, occurred_at), one student's
(site_id, person_id, occurred_at); excuses and notices by school and day. Handlers call these; no SQL in routes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from edge.central.attendance.calendar import ClassTimes, DayVerdict, SchoolCalendar
from edge.central.attendance.collation import register_order, sorted_classes
from edge.central.attendance.export import day_bounds
from edge.central.attendance.rule import Attendance, Status, Tap, decide
from edge.central.web.db import WebDb
from edge.roster import Person

CHECKIN_FIELDS = "event_id, person_id, occurred_at, direction, decision, method, gate, gateway_id, card_uid"


class _MemoCalendar(SchoolCalendar):
    """The school's calendar with its answers kept for one page: the rule asks the same day verdict and class
    times for each of 2,000 students (two thirds of Today's time before this)."""

    def __init__(self, base: SchoolCalendar) -> None:
        super().__init__(base.config, str(base.tz))
        self._checks: dict[date, DayVerdict] = {}
        self._times: dict[str, ClassTimes] = {}

    def check(self, day: date) -> DayVerdict:
        if day not in self._checks:
            self._checks[day] = super().check(day)
        return self._checks[day]

    def times_for(self, class_name: str) -> ClassTimes:
        if class_name not in self._times:
            self._times[class_name] = super().times_for(class_name)
        return self._times[class_name]


def memo(calendar: SchoolCalendar) -> SchoolCalendar:
    return calendar if isinstance(calendar, _MemoCalendar) else _MemoCalendar(calendar)


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class StudentDay:
    person: Person
    attendance: Attendance
    first_in: datetime | None
    last_out: datetime | None
    method: str | None
    checkins: int
    excuse: dict[str, Any] | None = None
    gate: str | None = None
    """The gate of the arrival."""
    notices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.attendance.status)


@dataclass
class ClassSummary:
    class_name: str
    students: int
    counts: dict[str, int]


def checkins_between(db: WebDb, site_id: str, lo: str, hi: str) -> list[dict[str, Any]]:
    return db.query(
        f"SELECT {CHECKIN_FIELDS} FROM checkins WHERE site_id = ? AND occurred_at >= ? AND occurred_at < ? "
        "ORDER BY occurred_at",
        (site_id, lo, hi),
    )


JUDGED_FIELDS = "person_id, occurred_at, direction, decision, method, gate"


def granted_between(db: WebDb, site_id: str, lo: str, hi: str) -> list[dict[str, Any]]:
    """What the rule needs of a school's day, and no more: granted check-ins of identified people (a day of a
    2,000-student school is ~4,000 rows; fewer columns is most of the read's cost)."""
    return db.query(
        f"SELECT {JUDGED_FIELDS} FROM checkins WHERE site_id = ? AND occurred_at >= ? AND occurred_at < ? "
        "AND decision = 'granted' AND person_id IS NOT NULL ORDER BY occurred_at",
        (site_id, lo, hi),
    )


def latest(db: WebDb, site_id: str, lo: str, hi: str, limit: int) -> list[dict[str, Any]]:
    """The newest check-ins of the day, newest first."""
    return db.query(
        f"SELECT {CHECKIN_FIELDS} FROM checkins WHERE site_id = ? AND occurred_at >= ? AND occurred_at < ? "
        "ORDER BY occurred_at DESC LIMIT ?",
        (site_id, lo, hi, limit),
    )


def person_checkins(db: WebDb, site_id: str, person_id: str, lo: str, hi: str) -> list[dict[str, Any]]:
    return db.query(
        f"SELECT {CHECKIN_FIELDS} FROM checkins WHERE site_id = ? AND person_id = ? AND occurred_at >= ? "
        "AND occurred_at < ? ORDER BY occurred_at",
        (site_id, person_id, lo, hi),
    )


def excuses(
    db: WebDb, site_id: str, lo_day: str, hi_day: str, person_id: str | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    """Excuses keyed (person_id, day) for days lo_day <= day <= hi_day."""
    sql = "SELECT person_id, day, reason, by_user, at FROM excuses WHERE site_id = ? AND day >= ? AND day <= ?"
    params: list[Any] = [site_id, lo_day, hi_day]
    if person_id is not None:
        sql += " AND person_id = ?"
        params.append(person_id)
    return {(r["person_id"], r["day"]): r for r in db.query(sql, params)}


def notices(db: WebDb, site_id: str, day: date) -> dict[str, list[dict[str, Any]]]:
    """The day's notices to guardians (#9) by student."""
    try:
        rows = db.query(
            "SELECT person_id, kind, guardian_id, channel, status, attempts, sent_at, last_error FROM notify_jobs "
            "WHERE site_id = ? AND day = ? ORDER BY id",
            (site_id, day.isoformat()),
        )
    except Exception:  # a store without the notifier's tables (migration 0003 not applied): no notices
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["person_id"], []).append(r)
    return out


def _judge(
    calendar: SchoolCalendar,
    person: Person,
    day: date,
    rows: Iterable[dict[str, Any]],
    now: datetime,
    excuse: dict[str, Any] | None,
) -> StudentDay:
    rows = list(rows)
    taps = [Tap(parse_instant(r["occurred_at"]), r["direction"], r["decision"]) for r in rows]
    att = decide(
        calendar, person.class_name, day, taps, now=now, excused=excuse is not None, enrolled=person.enrolled_on(day)
    )
    granted = [r for r in rows if r["decision"] == "granted"]
    ins = [r for r in granted if r["direction"] == "in"]
    outs = [r for r in granted if r["direction"] == "out"]
    return StudentDay(
        person,
        att,
        parse_instant(ins[0]["occurred_at"]) if ins else None,
        parse_instant(outs[-1]["occurred_at"]) if outs else None,
        ins[0]["method"] if ins else None,
        len(granted),
        excuse,
        gate=ins[0].get("gate") if ins else None,
    )


def class_day(
    db: WebDb, calendar: SchoolCalendar, site_id: str, students: list[Person], day: date, now: datetime
) -> list[StudentDay]:
    """One row per student of the class enrolled on `day`, in register order (given name first, Vietnamese
    collation), judged by the attendance rule."""
    calendar = memo(calendar)
    students = [p for p in students if p.enrolled_on(day)]
    lo, hi = day_bounds(day, str(calendar.tz))
    ids = {p.person_id for p in students}
    by_person: dict[str, list[dict[str, Any]]] = {}
    for r in checkins_between(db, site_id, lo, hi):
        if r["person_id"] in ids:
            by_person.setdefault(r["person_id"], []).append(r)
    exc = excuses(db, site_id, day.isoformat(), day.isoformat())
    sent = notices(db, site_id, day)
    out = []
    for p in register_order(students):
        row = _judge(calendar, p, day, by_person.get(p.person_id, []), now, exc.get((p.person_id, day.isoformat())))
        row.notices = sent.get(p.person_id, [])
        out.append(row)
    return out


def school_day(
    db: WebDb, calendar: SchoolCalendar, site_id: str, students: Iterable[Person], day: date, now: datetime
) -> dict[str, list[StudentDay]]:
    """Every student of the school enrolled on `day`, grouped by class (one query for the check-ins, one for
    excuses). `edge report`, the Today page and the API all answer through this."""
    calendar = memo(calendar)
    students = [p for p in students if p.enrolled_on(day)]
    lo, hi = day_bounds(day, str(calendar.tz))
    by_person: dict[str, list[dict[str, Any]]] = {}
    for r in granted_between(db, site_id, lo, hi):
        by_person.setdefault(r["person_id"], []).append(r)
    exc = excuses(db, site_id, day.isoformat(), day.isoformat())
    out: dict[str, list[StudentDay]] = {}
    for p in students:
        row = _judge(calendar, p, day, by_person.get(p.person_id, []), now, exc.get((p.person_id, day.isoformat())))
        out.setdefault(p.class_name, []).append(row)
    return out


STATUSES = (Status.PRESENT, Status.LATE, Status.ABSENT, Status.EXCUSED, Status.PENDING)


def summarise(by_class: dict[str, list[StudentDay]]) -> list[ClassSummary]:
    out = []
    for name in sorted_classes(by_class):
        counts = {str(s): 0 for s in STATUSES}
        for row in by_class[name]:
            counts[row.status] = counts.get(row.status, 0) + 1
        out.append(ClassSummary(name, len(by_class[name]), counts))
    return out


def month_days(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def student_month(
    db: WebDb, calendar: SchoolCalendar, site_id: str, person: Person, month: date, now: datetime
) -> list[StudentDay]:
    """The student's school days of `month` (up to today, inside their enrolment), newest first."""
    calendar = memo(calendar)
    first, last = month_days(month)
    today = calendar.local_day(now)
    last = min(last, today)
    if person.enrolled_until is not None:
        last = min(last, person.enrolled_until)
    if person.enrolled_from is not None:
        first = max(first, person.enrolled_from)
    if last < first:
        return []
    lo, _ = day_bounds(first, str(calendar.tz))
    _, hi = day_bounds(last, str(calendar.tz))
    rows = person_checkins(db, site_id, person.person_id, lo, hi)
    by_day: dict[date, list[dict[str, Any]]] = {}
    for r in rows:
        by_day.setdefault(calendar.local_day(parse_instant(r["occurred_at"])), []).append(r)
    exc = excuses(db, site_id, first.isoformat(), last.isoformat(), person.person_id)
    out = []
    for d in reversed(calendar.school_days(first, last)):
        out.append(_judge(calendar, person, d, by_day.get(d, []), now, exc.get((person.person_id, d.isoformat()))))
    return out


def record_excuse(tx: Any, site_id: str, person_id: str, day: date, reason: str, by_user: str, at: float) -> bool:
    """Excuse the day (or replace the reason); True if it was new."""
    existed = tx.query("SELECT 1 FROM excuses WHERE site_id = ? AND person_id = ? AND day = ?",
                       (site_id, person_id, day.isoformat()))  # fmt: skip
    if existed:
        tx.execute(
            "UPDATE excuses SET reason = ?, by_user = ?, at = ? WHERE site_id = ? AND person_id = ? AND day = ?",
            (reason, by_user, at, site_id, person_id, day.isoformat()),
        )
        return False
    tx.execute(
        "INSERT INTO excuses (site_id, person_id, day, reason, by_user, at) VALUES (?, ?, ?, ?, ?, ?)",
        (site_id, person_id, day.isoformat(), reason, by_user, at),
    )
    return True


def remove_excuse(tx: Any, site_id: str, person_id: str, day: date) -> str | None:
    """Delete the day's excuse; returns the reason it had (None: there was none)."""
    rows = tx.query(
        "SELECT reason FROM excuses WHERE site_id = ? AND person_id = ? AND day = ?",
        (site_id, person_id, day.isoformat()),
    )
    if not rows:
        return None
    tx.execute(
        "DELETE FROM excuses WHERE site_id = ? AND person_id = ? AND day = ?", (site_id, person_id, day.isoformat())
    )
    return str(rows[0]["reason"])
