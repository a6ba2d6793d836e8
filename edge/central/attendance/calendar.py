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
        if school.calendar is None:
            raise ValueError(f"school {school.id}: no calendar (the store holds it: `edge school import`)")
        return cls(school.calendar, school.timezone)

    def check(self, day: date) -> DayVerdict:
        """A school day is a configured weekday inside a term and not a holiday, or a make-up day; never before the
        go-live date (the system did not exist: nothing can be absent). The reason says which rule decided."""
        weekday = WEEKDAYS[day.weekday()]
        if self.config.go_live is not None and day < self.config.go_live:
            return DayVerdict(day, False, f"before the go-live date {self.config.go_live}")
        makeup = next((m for m in self.config.makeup_days if m.start <= day <= (m.end or m.start)), None)
        if makeup is not None:
            return DayVerdict(day, True, f"make-up school day: {makeup.name}")
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

    def school_days(self, start: date, end: date, *, today: date | None = None) -> list[date]:
        """School days from start to end (included); with `today`, none after it: a day that has not come is not
        a school day yet (a month's rate counts the days that happened)."""
        if today is not None:
            end = min(end, today)
        out, d = [], start
        while d <= end:
            if self.is_school_day(d):
                out.append(d)
            d += timedelta(days=1)
        return out
