"""THE attendance rule: one student's check-ins on one day → present / late / absent / excused.

Pure (no clock, no database): the notifier, the attendance reports and the web app call this one function, so a
parent's "arrived late at 08:03" and the register's "late" always agree.

- Only **granted** check-ins count; `denied` and `unknown` never say anything about a student.
- Arrival is the first granted `in` of the school day (the school's time zone). It is *late* when its minute is
  after the cut-off minute: a child seen at 07:45:40 with a 07:45 cut-off is on time, because every message shows
  minutes and "arrived at 07:45" next to "had not arrived by 07:45" would contradict itself.
- No arrival: *pending* before the cut-off, *absent* from the cut-off on; *excused* if the school excused the day.
- No absence where none can be: a day before the school's go-live date or outside the term is *no school*
  (calendar.py), and so is a day outside the student's enrolment (enrolled_from … enrolled_until, the store's
  students table) — a transfer student has no absences for the month before they came.
- Leaving is the first granted `out` at or after the dismissal minute (the opt-in "left" notice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from edge.central.attendance.calendar import SchoolCalendar


class Status(StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"
    PENDING = "pending"
    """No arrival yet and the cut-off has not passed."""
    NO_SCHOOL = "no_school"


@dataclass(frozen=True)
class Tap:
    """A stored check-in, as much of it as the rule needs. occurred_at must be timezone-aware."""

    occurred_at: datetime
    direction: str
    decision: str


@dataclass(frozen=True)
class Attendance:
    day: date
    status: Status
    first_in: datetime | None
    """The arrival (school's time zone), or None."""
    left_at: datetime | None
    """The first granted 'out' at or after dismissal (school's time zone), or None."""
    cutoff: datetime
    dismissal: datetime
    reason: str


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def is_late(calendar: SchoolCalendar, class_name: str, arrival: datetime) -> bool:
    """Late: the arrival's minute (school time) is after the class's cut-off minute on that day."""
    local = calendar.local(arrival)
    return _minute(local) > calendar.cutoff_at(local.date(), class_name)


def is_after_dismissal(calendar: SchoolCalendar, class_name: str, instant: datetime) -> bool:
    local = calendar.local(instant)
    return _minute(local) >= calendar.dismissal_at(local.date(), class_name)


def decide(
    calendar: SchoolCalendar,
    class_name: str,
    day: date,
    taps: Iterable[Tap],
    *,
    now: datetime | None = None,
    excused: bool = False,
    enrolled: bool = True,
) -> Attendance:
    """The student's status on `day` from their check-ins (any order; other days' are ignored).

    `now` is the moment of judgement (None: after the day is over). `enrolled`: whether the day is inside the
    student's enrolment (Person.enrolled_on); outside it there is no school for them.
    """
    cutoff = calendar.cutoff_at(day, class_name)
    dismissal = calendar.dismissal_at(day, class_name)
    verdict = calendar.check(day)
    if not verdict.school_day:
        return Attendance(day, Status.NO_SCHOOL, None, None, cutoff, dismissal, verdict.reason)
    if not enrolled:
        return Attendance(day, Status.NO_SCHOOL, None, None, cutoff, dismissal, "not enrolled on this day")
    granted = sorted(
        (calendar.local(t.occurred_at), t.direction)
        for t in taps
        if t.decision == "granted" and calendar.local_day(t.occurred_at) == day
    )
    first_in = next((at for at, direction in granted if direction == "in"), None)
    left_at = next((at for at, direction in granted if direction == "out" and _minute(at) >= dismissal), None)
    if first_in is not None:
        if _minute(first_in) > cutoff:
            return Attendance(
                day, Status.LATE, first_in, left_at, cutoff, dismissal, f"arrived {first_in:%H:%M} after {cutoff:%H:%M}"
            )
        return Attendance(day, Status.PRESENT, first_in, left_at, cutoff, dismissal, f"arrived {first_in:%H:%M}")
    if excused:
        return Attendance(day, Status.EXCUSED, None, left_at, cutoff, dismissal, "excused by the school")
    if now is not None and now < cutoff:
        return Attendance(day, Status.PENDING, None, left_at, cutoff, dismissal, f"cut-off {cutoff:%H:%M} not reached")
    return Attendance(day, Status.ABSENT, None, left_at, cutoff, dismissal, f"no granted 'in' by {cutoff:%H:%M}")
