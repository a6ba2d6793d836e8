"""Attendance over a date range for a set of classes: one status per student per school day, and the monthly
class summary (days present, late, absent, excused per student).

Why a module of its own: the Reports page, the CSV/XLSX/Ed-Fi downloads and the benchmark all need the same grid,
and every cell of it must be THE attendance rule's verdict (edge/central/attendance/rule.py), so a "late" in a
download is the "late" of the parents' notice. It reads the range with ONE store query (`store.checkins(lo, hi)`)
and groups in memory: a whole school month is ~80,000 rows, one scan, never one query per student or per day.

Excused days are the caller's: the web app keeps them in its own table, so this module takes either a set of
(person_id, day) pairs, a mapping of those pairs to the excuse's note (the Ed-Fi reason carries it), or a callable
answering "is this student excused on this day?".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from edge.central.attendance.calendar import ClassTimes, DayVerdict, SchoolCalendar
from edge.central.attendance.collation import school_order, sorted_classes
from edge.central.attendance.export import day_bounds
from edge.central.attendance.rule import Status, Tap, decide
from edge.central.store import CheckinStore
from edge.roster import Person

Excused = Collection[tuple[str, date]] | Callable[[str, date], bool]
MAX_DAYS = 400
"""A range longer than a school year plus a margin is a mistake (or an attempt to load everything)."""


class RangeError(ValueError):
    """The requested range or classes are not valid; the message says why, in words a user can act on: in English
    (the CLI, the API), and as the catalog message `key` with its `fields` for the web pages
    (edge/central/locale)."""

    def __init__(self, message: str, key: str | None = None, **fields: object) -> None:
        super().__init__(message)
        self.key = key
        self.fields = fields


@dataclass(frozen=True)
class DayRecord:
    """One student on one school day."""

    person_id: str
    day: date
    status: Status
    first_in: datetime | None
    """Arrival, school's time zone."""
    last_out: datetime | None
    """The day's last granted 'out', school's time zone."""
    early_departure: bool
    """Came in, and the day's last granted tap is an 'out' before the dismissal minute (Ed-Fi "Early departure")."""
    method: str | None
    gate: str | None
    reason: str
    cutoff: datetime | None = None
    """The class's cut-off that day (school's time zone): the reason's words in another language need it."""
    excuse_note: str | None = None
    """Why the school excused the day ("ốm"), when the caller gave it."""


@dataclass
class StudentSummary:
    """A student's counts over the range (school days that have been judged: a pending day counts nowhere)."""

    person: Person
    school_days: int = 0
    present: int = 0
    """On time."""
    late: int = 0
    absent: int = 0
    """Unexcused."""
    excused: int = 0
    early_departures: int = 0

    @property
    def attended(self) -> int:
        """Days the student came in (on time or late)."""
        return self.present + self.late

    @property
    def rate(self) -> float | None:
        """Share of judged school days attended, or None when no day was judged."""
        judged = self.present + self.late + self.absent + self.excused
        return None if judged == 0 else self.attended / judged

    def as_row(self) -> dict[str, Any]:
        rate = self.rate
        return {
            "person_id": self.person.person_id,
            "name": self.person.name,
            "class": self.person.class_name,
            "school_days": self.school_days,
            "present": self.present,
            "late": self.late,
            "absent": self.absent,
            "excused": self.excused,
            "early_departures": self.early_departures,
            "attendance_rate": None if rate is None else round(rate, 4),
        }


SUMMARY_FIELDS = (
    "person_id",
    "name",
    "class",
    "school_days",
    "present",
    "late",
    "absent",
    "excused",
    "early_departures",
    "attendance_rate",
)


@dataclass
class RangeReport:
    """The grid: `days` are the school days in [start, end]; `records[person_id]` one DayRecord per day."""

    start: date
    end: date
    timezone: str
    classes: tuple[str, ...]
    days: list[date]
    students: list[Person]
    records: dict[str, list[DayRecord]] = field(default_factory=dict)

    def summaries(self) -> list[StudentSummary]:
        out = []
        for p in self.students:
            s = StudentSummary(p)
            for r in self.records.get(p.person_id, []):
                if r.status == Status.NO_SCHOOL:
                    continue  # not enrolled that day: not one of the student's school days
                s.school_days += 1
                if r.status == Status.PRESENT:
                    s.present += 1
                elif r.status == Status.LATE:
                    s.late += 1
                elif r.status == Status.ABSENT:
                    s.absent += 1
                elif r.status == Status.EXCUSED:
                    s.excused += 1
                s.early_departures += r.early_departure
            out.append(s)
        return out

    def day_rows(self) -> Iterable[dict[str, Any]]:
        """One flat row per student per school day (the CSV/XLSX 'days' layout), by day then class then name."""
        people = {p.person_id: p for p in self.students}
        for i, d in enumerate(self.days):
            for p in self.students:
                r = self.records[p.person_id][i]
                if r.status == Status.NO_SCHOOL:
                    continue  # a day outside the student's enrolment: no row (and no absence)
                yield {
                    "date": d,
                    "person_id": p.person_id,
                    "name": people[p.person_id].name,
                    "class": p.class_name,
                    "status": str(r.status),
                    "first_in": r.first_in,
                    "last_out": r.last_out,
                    "early_departure": r.early_departure,
                    "method": r.method,
                    "gate": r.gate,
                }


DAY_FIELDS = (
    "date",
    "person_id",
    "name",
    "class",
    "status",
    "first_in",
    "last_out",
    "early_departure",
    "method",
    "gate",
)


class _CachedCalendar(SchoolCalendar):
    """The school's calendar with its per-day and per-class answers remembered for one report: the rule asks the
    same (class, day) questions 40,000 times for a school month, and the answers cannot change meanwhile."""

    def __init__(self, base: SchoolCalendar) -> None:
        super().__init__(base.config, base.tz.key)
        self._checks: dict[date, DayVerdict] = {}
        self._times: dict[str, ClassTimes] = {}

    def check(self, day: date) -> DayVerdict:
        v = self._checks.get(day)
        if v is None:
            v = self._checks[day] = super().check(day)
        return v

    def times_for(self, class_name: str) -> ClassTimes:
        t = self._times.get(class_name)
        if t is None:
            t = self._times[class_name] = super().times_for(class_name)
        return t


def _excused_check(excused: Excused) -> Callable[[str, date], bool]:
    if callable(excused):
        return excused
    pairs = frozenset(excused)
    return lambda pid, day: (pid, day) in pairs


def select_students(roster: Sequence[Person], classes: Collection[str] | None) -> list[Person]:
    """The roster's students of `classes` (None: every class), class by class in register order (given name first,
    Vietnamese collation: edge/central/attendance/collation.py); an unknown class is an error
    (a typo must not produce an empty, plausible-looking report)."""
    if classes is not None:
        known = {p.class_name for p in roster}
        unknown = sorted(set(classes) - known)
        if unknown:
            names = ", ".join(repr(c) for c in unknown)
            raise RangeError(
                f"unknown class {names}; known: {sorted(known)}",
                "reports.err.unknown_class",
                classes=", ".join(unknown),
            )
        wanted = set(classes)
        picked = [p for p in roster if p.class_name in wanted]
    else:
        picked = list(roster)
    return school_order(picked)


def check_range(start: date, end: date) -> None:
    if end < start:
        raise RangeError(f"the range ends ({end}) before it starts ({start})", "reports.err.ends_before")
    if (end - start).days + 1 > MAX_DAYS:
        days = (end - start).days + 1
        said = f"the range is {days} days; at most {MAX_DAYS}"
        raise RangeError(said, "reports.err.too_long", days=days, most=MAX_DAYS)


def attendance_range(
    store: CheckinStore | None,
    calendar: SchoolCalendar,
    roster: Sequence[Person],
    start: date,
    end: date,
    *,
    classes: Collection[str] | None = None,
    excused: Excused = frozenset(),
    site_id: str | None = None,
    now: datetime | None = None,
    fetch: Callable[[str, str], Iterable[dict[str, Any]]] | None = None,
) -> RangeReport:
    """Every selected student's status on every school day of [start, end] (school's time zone).

    `site_id`: only that school's check-ins count (a district store holds many schools). `now`: the moment of
    judgement, so today's students not yet in are 'pending' before the cut-off, and days after today are not
    school days yet (not in `days`, counted nowhere); None judges every day as over. A student is in the report
    when enrolled on at least one of its days; a day outside their enrolment is 'no_school' for them.
    `fetch(lo, hi)`: where the check-ins of [lo, hi) come from instead of
    `store.checkins` (the web app passes its indexed per-school read); rows need person_id, occurred_at,
    direction, decision, method, gate (and site_id when `site_id` is given).
    """
    check_range(start, end)
    if fetch is None:
        if store is None:
            raise TypeError("attendance_range needs a store or a fetch function")
        fetch = store.checkins
    calendar = _CachedCalendar(calendar)
    tz = calendar.tz.key
    days = calendar.school_days(start, end, today=None if now is None else calendar.local_day(now))
    students = [p for p in select_students(roster, classes) if _enrolled_within(p, start, end)]
    by_person: dict[str, list[dict[str, Any]]] = {p.person_id: [] for p in students}
    if days:
        lo, _ = day_bounds(days[0], tz)
        _, hi = day_bounds(days[-1], tz)
        for row in fetch(lo, hi):
            pid = row["person_id"]
            if pid in by_person and row["decision"] == "granted" and (site_id is None or row["site_id"] == site_id):
                by_person[pid].append(row)
    is_excused = _excused_check(excused)
    notes: Mapping[tuple[str, date], str] = excused if isinstance(excused, Mapping) else {}
    report = RangeReport(start, end, tz, tuple(sorted_classes(p.class_name for p in students)), days, students)
    for p in students:
        per_day: dict[date, list[dict[str, Any]]] = {}
        for row in by_person[p.person_id]:
            at = _instant(row["occurred_at"])
            row["_at"] = at
            per_day.setdefault(calendar.local_day(at), []).append(row)
        report.records[p.person_id] = [
            _day_record(
                calendar, p, d, per_day.get(d, []), is_excused(p.person_id, d), now, notes.get((p.person_id, d))
            )
            for d in days
        ]
    return report


def _enrolled_within(p: Person, start: date, end: date) -> bool:
    return (p.enrolled_from is None or p.enrolled_from <= end) and (
        p.enrolled_until is None or p.enrolled_until >= start
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _day_record(
    calendar: SchoolCalendar,
    person: Person,
    day: date,
    rows: list[dict[str, Any]],
    excused: bool,
    now: datetime | None,
    note: str | None = None,
) -> DayRecord:
    taps = [Tap(r["_at"], r["direction"], r["decision"]) for r in rows]
    verdict = decide(calendar, person.class_name, day, taps, now=now, excused=excused, enrolled=person.enrolled_on(day))
    ordered = sorted(rows, key=lambda r: r["_at"])
    first_in_row = next((r for r in ordered if r["direction"] == "in"), None)
    outs = [r for r in ordered if r["direction"] == "out"]
    last_out = calendar.local(outs[-1]["_at"]) if outs else None
    early = (
        verdict.first_in is not None
        and bool(ordered)
        and ordered[-1]["direction"] == "out"
        and last_out is not None
        and last_out.replace(second=0, microsecond=0) < verdict.dismissal
    )
    return DayRecord(
        person.person_id,
        day,
        verdict.status,
        verdict.first_in,
        last_out,
        early,
        None if first_in_row is None else first_in_row["method"],
        None if first_in_row is None else first_in_row["gate"],
        verdict.reason,
        verdict.cutoff,
        note if verdict.status == Status.EXCUSED else None,
    )
