"""The calendar editor's changes: terms, holidays, make-up school days ("ngày học bù"), cut-offs per grade and
class, the go-live date — each one small change to the school's calendar in the store.

Why a change is a function of the current calendar, applied inside the transaction (`apply_change`): two office
users editing at once each add their holiday; neither overwrites the other's with a stale copy of the page. The
new calendar is checked (the same pydantic model central.yaml is checked with), then written by
edge/central/school/edits.py's `set_calendar` — one transaction that bumps the school's version, so the notifier
and every other process follow it (LiveSchools) — and audited in that same transaction by the caller.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import ValidationError

from edge.central.school import edits
from edge.central.school.state import load_school
from edge.central.web.db import WebTx
from edge.config.central import CalendarConfig, Holiday, MakeupDay, Term, Times
from edge.control_chars import first_forbidden

log = logging.getLogger(__name__)

DayKind = Literal["holiday", "makeup"]
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
NAME_MAX = 100


class CalendarEditError(ValueError):
    """A change the calendar cannot take; `key` is the i18n key of the sentence the page shows."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


Change = Callable[[CalendarConfig], dict[str, Any]]
"""The current calendar → the fields to replace (a partial CalendarConfig as plain data)."""


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > NAME_MAX:
        raise CalendarEditError("office.cal_bad_name", n=NAME_MAX)
    if first_forbidden(name) is not None:  # a holiday's name is shown on every page and in `edge calendar check`
        raise CalendarEditError("office.control_char")
    return name


def _span(start: date, end: date | None) -> date | None:
    if end is not None and end < start:
        raise CalendarEditError("office.cal_end_before_start")
    return None if end == start else end


def entry_key(name: str, start: date) -> str:
    """How a page names one term / holiday / make-up day to remove (stable across others' edits)."""
    return f"{start.isoformat()}|{name}"


def add_term(name: str, start: date, end: date) -> Change:
    name = _name(name)
    if end < start:
        raise CalendarEditError("office.cal_end_before_start")
    return lambda cal: {"terms": sorted([*cal.terms, Term(name=name, start=start, end=end)], key=lambda t: t.start)}


def remove_term(key: str) -> Change:
    def change(cal: CalendarConfig) -> dict[str, Any]:
        terms = [t for t in cal.terms if entry_key(t.name, t.start) != key]
        if len(terms) == len(cal.terms):
            raise CalendarEditError("office.cal_gone")
        if not terms:
            raise CalendarEditError("office.cal_last_term")
        return {"terms": terms}

    return change


def add_day(kind: DayKind, name: str, start: date, end: date | None) -> Change:
    name = _name(name)
    end = _span(start, end)
    if kind == "holiday":
        return lambda cal: {
            "holidays": sorted([*cal.holidays, Holiday(name=name, start=start, end=end)], key=lambda h: h.start)
        }
    return lambda cal: {
        "makeup_days": sorted([*cal.makeup_days, MakeupDay(name=name, start=start, end=end)], key=lambda m: m.start)
    }


def remove_day(kind: DayKind, key: str) -> Change:
    field = "holidays" if kind == "holiday" else "makeup_days"

    def change(cal: CalendarConfig) -> dict[str, Any]:
        days: list[Holiday] | list[MakeupDay] = getattr(cal, field)
        kept = [d for d in days if entry_key(d.name, d.start) != key]
        if len(kept) == len(days):
            raise CalendarEditError("office.cal_gone")
        return {field: kept}

    return change


def set_go_live(day: date | None) -> Change:
    return lambda cal: {"go_live": day}


def _time(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    if not HHMM.match(text):
        raise CalendarEditError("office.cal_bad_time", value=text[:10])
    return text


def set_times(scope: Literal["school", "grade", "class"], name: str, cutoff: str, dismissal: str) -> Change:
    """The school's default times, or one grade's / class's (both empty: the entry goes, the defaults apply)."""
    cut, dis = _time(cutoff), _time(dismissal)
    if scope == "school":
        if cut is None or dis is None:
            raise CalendarEditError("office.cal_bad_time", value="")
        return lambda cal: {"cutoff": cut, "dismissal": dis}
    name = name.strip()
    if not name or len(name) > 32:
        raise CalendarEditError("office.cal_bad_name", n=32)
    field = "grades" if scope == "grade" else "classes"

    def change(cal: CalendarConfig) -> dict[str, Any]:
        entries = dict(getattr(cal, field))
        entries.pop(name, None)
        if cut is not None or dis is not None:
            entries[name] = Times(cutoff=cut, dismissal=dis)
        return {field: entries}

    return change


@dataclass(frozen=True)
class Saved:
    before: CalendarConfig
    after: CalendarConfig


def apply_change(tx: WebTx, site_id: str, change: Change) -> Saved:
    """Read the school's calendar in `tx`, apply `change`, check the result, write it (version bumped)."""
    if tx.engine == "postgresql":  # one calendar editor of a school at a time: no lost update
        tx.query("SELECT pg_advisory_xact_lock(hashtext(?))", (f"edge-calendar:{site_id}",))
    state = load_school(tx, site_id)
    if state is None:
        raise CalendarEditError("office.cal_no_school")
    before = state.calendar
    data = before.model_dump()
    data.update({k: _plain(v) for k, v in change(before).items()})
    try:
        after = CalendarConfig.model_validate(data)
    except ValidationError as exc:
        # the office reads that nothing was saved and which part of the calendar; pydantic's English goes to the log
        first = exc.errors()[0]
        log.info("calendar change for %s refused: %s at %s", site_id, first.get("msg"), first.get("loc"))
        section = _PARTS.get(str(first.get("loc", ("",))[0]), "other")
        raise CalendarEditError(f"office.cal_invalid_{section}") from None
    edits.set_calendar(tx, site_id, after)
    return Saved(before, after)


_PARTS = {
    "terms": "terms",
    "holidays": "holidays",
    "makeup_days": "makeup_days",
    "cutoff": "times",
    "dismissal": "times",
    "grades": "times",
    "classes": "times",
    "go_live": "go_live",
}
"""The calendar's parts (CalendarConfig's fields) as the page's sections: office.cal_invalid_<section>."""


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value


_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"before the go-live date (?P<d>\S+)"), "office.why_before_go_live"),
    (re.compile(r"make-up school day: (?P<name>.*)"), "office.why_makeup"),
    (re.compile(r"outside every term"), "office.why_no_term"),
    (re.compile(r"holiday: (?P<name>.*)"), "office.why_holiday"),
    (re.compile(r"(?P<wd>\w+) is not a school weekday"), "office.why_weekend"),
    (re.compile(r"(?P<wd>\w+) in term (?P<name>.*) \((?P<start>\S+) – (?P<end>\S+)\)"), "office.why_term"),
]


def reason_words(reason: str) -> tuple[str, dict[str, str]]:
    """The calendar's English reason (SchoolCalendar.check) as an i18n key and its fields."""
    for pattern, key in _REASONS:
        m = pattern.fullmatch(reason)
        if m is not None:
            return key, {k: v for k, v in m.groupdict().items() if v is not None}
    return "office.why_other", {"reason": reason}
