"""The school calendar: is DATE a school day (and why), and which cut-off and dismissal apply to a class.

Pure: built from the config, no clock, no database. The notifier, attendance reports and the web app all ask
this one object, so a notice and a report never disagree about a day or a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.config.central import CalendarConfig, SchoolConfig, hhmm

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GRADE = re.compile(r"^\s*(\d+)")


@dataclass(frozen=True)
class DayVerdict:
    day: date
    school_day: bool
    reason: str
    """Why, in words: the term it falls in, or the holiday / weekend / no term that rules it out."""


@dataclass(frozen=True)
class ClassTimes:
    cutoff: time
    dismissal: time
    source: str
    """Where each time comes from: 'class 6A', 'grade 6' or 'school default'."""


class SchoolCalendar:
    def __init__(self, calendar: CalendarConfig, timezone: str) -> None:
        self.config = calendar
        self.tz = ZoneInfo(timezone)

    @classmethod
    def of(cls, school: SchoolConfig) -> SchoolCalendar:
        return cls(school.calendar, school.timezone)

    def check(self, day: date) -> DayVerdict:
        """A school day is a configured weekday inside a term and not a holiday; the reason says which rule decided."""
        weekday = WEEKDAYS[day.weekday()]
        term = next((t for t in self.config.terms if t.start <= day <= t.end), None)
        if term is None:
            return DayVerdict(day, False, "outside every term")
        holiday = next(
            (h for h in self.config.holidays if h.start <= day <= (h.end or h.start)),
            None,
        )
        if holiday is not None:
            return DayVerdict(day, False, f"holiday: {holiday.name}")
        if weekday not in self.config.weekdays:
            return DayVerdict(day, False, f"{weekday} is not a school weekday")
        return DayVerdict(day, True, f"{weekday} in term {term.name} ({term.start} – {term.end})")

    def is_school_day(self, day: date) -> bool:
        return self.check(day).school_day

    def times_for(self, class_name: str) -> ClassTimes:
        """Cut-off and dismissal of a class: the class's own entry, else its grade's (leading digits), else the
        school's; each time independently (a class may set only its dismissal)."""
        cfg = self.config
        entries = []
        if class_name in cfg.classes:
            entries.append((f"class {class_name}", cfg.classes[class_name]))
        m = _GRADE.match(class_name)
        if m and m.group(1) in cfg.grades:
            entries.append((f"grade {m.group(1)}", cfg.grades[m.group(1)]))
        cutoff, dismissal = cfg.cutoff, cfg.dismissal
        cutoff_from = dismissal_from = "school default"
        for label, entry in reversed(entries):  # the most specific last, so it wins
            if entry.cutoff is not None:
                cutoff, cutoff_from = entry.cutoff, label
            if entry.dismissal is not None:
                dismissal, dismissal_from = entry.dismissal, label
        source = f"cut-off from {cutoff_from}, dismissal from {dismissal_from}"
        return ClassTimes(hhmm(cutoff), hhmm(dismissal), source)

    def local_day(self, instant: datetime) -> date:
        """The school day an instant belongs to, in the school's time zone (07:05 in Hà Nội is 00:05 UTC)."""
        return instant.astimezone(self.tz).date()

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def at(self, day: date, t: time) -> datetime:
        """The aware instant of local time t on day."""
        return datetime.combine(day, t, tzinfo=self.tz)

    def cutoff_at(self, day: date, class_name: str) -> datetime:
        return self.at(day, self.times_for(class_name).cutoff)

    def dismissal_at(self, day: date, class_name: str) -> datetime:
        return self.at(day, self.times_for(class_name).dismissal)

    def school_days(self, start: date, end: date) -> list[date]:
        out, d = [], start
        while d <= end:
            if self.is_school_day(d):
                out.append(d)
            d += timedelta(days=1)
        return out
