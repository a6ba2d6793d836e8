"""Bulk and multi-day excuses: several students of a class × a range of days, one reason, one transaction.

Why: a class away on a trip, a child in hospital for a week — the office excused one student-day at a time. The
range is cut to the school's days (holidays and weekends are not excused: nothing is expected on them) and may
lie in the future: the notifier's absence pass reads the same `excuses` table on the day
(edge/central/notify/hook.py `excused_on`), so an excuse entered ahead suppresses that day's absence notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from edge.central.attendance.calendar import SchoolCalendar
from edge.central.web import school_day as sd
from edge.central.web.db import WebTx

MAX_DAYS = 62
"""The longest range one form may excuse (two months): a longer absence is a leave, not an excuse."""
MAX_STUDENTS = 200


class RangeError(ValueError):
    """A range the form cannot take; `key` is the i18n key of the sentence the page shows."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


def school_days(calendar: SchoolCalendar, start: date, end: date) -> list[date]:
    """The school days from `start` to `end` (both included), by the school's calendar."""
    if end < start:
        raise RangeError("office.cal_end_before_start")
    if (end - start).days + 1 > MAX_DAYS:
        raise RangeError("office.excuse_too_long", n=MAX_DAYS)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return [d for d in days if calendar.is_school_day(d)]


@dataclass
class Excused:
    days: list[date]
    new: int = 0
    replaced: int = 0
    people: list[str] = field(default_factory=list)


def excuse_range(
    tx: WebTx, site_id: str, person_ids: Iterable[str], days: list[date], reason: str, by_user: str, at: float
) -> Excused:
    """Excuse each student on each day (an existing excuse of that day gets the new reason)."""
    people = sorted(set(person_ids))
    if not people or len(people) > MAX_STUDENTS:
        raise RangeError("office.excuse_no_students")
    if not days:
        raise RangeError("office.excuse_no_school_days")
    out = Excused(days, people=people)
    for pid in people:
        for d in days:
            if sd.record_excuse(tx, site_id, pid, d, reason, by_user, at):
                out.new += 1
            else:
                out.replaced += 1
    return out
