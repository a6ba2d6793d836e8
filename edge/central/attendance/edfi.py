"""Attendance as Ed-Fi `StudentSchoolAttendanceEvent` records: the school's data in a shape a district or ministry
system already reads (Ed-Fi Data Standard v5, resource /ed-fi/studentSchoolAttendanceEvents).

What is modelled, per student per judged school day (THE rule's status, edge/central/attendance/rule.py):

* present → category `In Attendance`, late → `Tardy`, excused → `Excused Absence`, absent → `Unexcused Absence`
  (descriptor URIs in the ed-fi.org namespace: ``uri://ed-fi.org/AttendanceEventCategoryDescriptor#Tardy``);
  a student who came in and whose last tap of the day is an 'out' before dismissal also gets an `Early departure`
  event on the same day (Ed-Fi keys events by category, so both may exist).
* the natural key: `studentReference.studentUniqueId` (our person_id), `schoolReference.schoolId` (the school's
  Ed-Fi number, an integer: `edfi_school_id` in central.yaml),
  `sessionReference` (schoolId, schoolYear, sessionName = the term's name from central.yaml), `eventDate`;
* `arrivalTime` / `departureTime` as Ed-Fi `time` (HH:MM:SS) in the SCHOOL's time zone (Ed-Fi times carry no
  zone; the envelope names it in `timeZone`), `attendanceEventReason` (the rule's verdict as free text in the
  school's language — Vietnamese unless English is asked for; the descriptors stay Ed-Fi's English codes),
  `educationalEnvironmentDescriptor` `Classroom` (a school gate sees in-person attendance only).

What is not: No `eventDuration` / `schoolAttendanceDuration` (a gate does not see class periods), no section
attendance, no `_ext` extensions, no OAuth push to an ODS/API (this is a file to download and hand over). Pending
days (today before the cut-off) and non-school days produce no event. `schoolYear` is the calendar year the school
year ends in (Ed-Fi's convention), school years starting in `year_starts_month` (August).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from edge.central.attendance.calendar import SchoolCalendar
from edge.central.attendance.labels import Words
from edge.central.attendance.rule import Status
from edge.central.attendance.summary import DayRecord, RangeReport

NAMESPACE = "uri://ed-fi.org"
CATEGORY = f"{NAMESPACE}/AttendanceEventCategoryDescriptor#"
IN_ATTENDANCE = CATEGORY + "In Attendance"
TARDY = CATEGORY + "Tardy"
EXCUSED_ABSENCE = CATEGORY + "Excused Absence"
UNEXCUSED_ABSENCE = CATEGORY + "Unexcused Absence"
EARLY_DEPARTURE = CATEGORY + "Early departure"
CLASSROOM = f"{NAMESPACE}/EducationalEnvironmentDescriptor#Classroom"

CATEGORY_OF = {
    Status.PRESENT: IN_ATTENDANCE,
    Status.LATE: TARDY,
    Status.EXCUSED: EXCUSED_ABSENCE,
    Status.ABSENT: UNEXCUSED_ABSENCE,
}
FORMAT = "edge-attendance/ed-fi-student-school-attendance-events@1"


def school_year(day: date, year_starts_month: int = 8) -> int:
    """Ed-Fi names a school year by the calendar year it ends in: 2026-09-05 → 2027, 2027-03-01 → 2027."""
    return day.year + 1 if day.month >= year_starts_month else day.year


def _time(t: datetime | None) -> str | None:
    return None if t is None else f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def _session_name(calendar: SchoolCalendar, day: date) -> str:
    term = next((t for t in calendar.config.terms if t.start <= day <= t.end), None)
    return term.name if term is not None else ""


def events_for(
    record: DayRecord, school_id: int, calendar: SchoolCalendar, words: Words | None = None
) -> list[dict[str, Any]]:
    """The Ed-Fi events of one student-day (none for pending / no-school days)."""
    words = words or Words()
    category = CATEGORY_OF.get(record.status)
    if category is None:
        return []
    base = {
        "studentReference": {"studentUniqueId": record.person_id},
        "schoolReference": {"schoolId": school_id},
        "sessionReference": {
            "schoolId": school_id,
            "schoolYear": school_year(record.day),
            "sessionName": _session_name(calendar, record.day),
        },
        "eventDate": record.day.isoformat(),
        "educationalEnvironmentDescriptor": CLASSROOM,
    }
    first = {
        **base,
        "attendanceEventCategoryDescriptor": category,
        "attendanceEventReason": words.reason(
            str(record.status), record.first_in, record.cutoff, record.reason, record.excuse_note
        ),
    }
    if record.first_in is not None:
        first["arrivalTime"] = _time(record.first_in)
    if record.last_out is not None:
        first["departureTime"] = _time(record.last_out)
    out = [first]
    if record.early_departure:
        out.append(
            {
                **base,
                "attendanceEventCategoryDescriptor": EARLY_DEPARTURE,
                "attendanceEventReason": words.early_departure(record.last_out),
                "arrivalTime": _time(record.first_in),
                "departureTime": _time(record.last_out),
            }
        )
    return out


def iter_events(
    report: RangeReport, school_id: int, calendar: SchoolCalendar, words: Words | None = None
) -> Iterator[dict[str, Any]]:
    for i, _d in enumerate(report.days):
        for p in report.students:
            yield from events_for(report.records[p.person_id][i], school_id, calendar, words)


def envelope(report: RangeReport, school_id: int, generated_at: datetime) -> dict[str, Any]:
    """The document around the events (everything except the `studentSchoolAttendanceEvents` array)."""
    return {
        "format": FORMAT,
        "schoolId": school_id,
        "timeZone": report.timezone,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "classes": list(report.classes),
        "generatedAt": generated_at.isoformat(timespec="seconds"),
    }


def iter_json(
    report: RangeReport, school_id: int, calendar: SchoolCalendar, generated_at: datetime, words: Words | None = None
) -> Iterator[str]:
    """The whole document as text pieces (one per event), so a school month never sits in memory as one string."""
    if isinstance(school_id, bool) or not isinstance(school_id, int):
        raise TypeError(f"an Ed-Fi schoolId is an integer, not {school_id!r}")
    head = json.dumps(envelope(report, school_id, generated_at), ensure_ascii=False)
    yield head[:-1] + ', "studentSchoolAttendanceEvents": ['
    first = True
    for e in iter_events(report, school_id, calendar, words):
        yield ("\n" if first else ",\n") + json.dumps(e, ensure_ascii=False, separators=(",", ":"))
        first = False
    yield "\n]}\n"
