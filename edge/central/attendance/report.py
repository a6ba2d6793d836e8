"""`edge report`: one school's day of attendance for people (a rich table), spreadsheets (CSV) or programs (JSON).

The answer is the web app's: the school (students enrolled that day, calendar, cut-offs, zone) comes from the
store, the check-ins and the office's excuses too, and every student is judged by THE attendance rule through the
same function the Today page and the API call (edge/central/web/school_day.py: school_day). So an excused student
is "excused", a class whose cut-off has not passed is "pending", a day before go-live or a student not yet enrolled
is not counted — here exactly as on the web app. Times are in the school's zone unless --tz says otherwise.

The table is never cut to 80 columns when the output is a pipe or a file: the console is as wide as the table."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import IO, Literal
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edge.central.attendance.export import day_bounds
from edge.central.school.state import SchoolState
from edge.central.spreadsheet import write_csv
from edge.central.web.db import WebDb
from edge.central.web.school_day import StudentDay, school_day

Format = Literal["table", "csv", "json"]
FIELDS = ("person_id", "name", "class", "status", "first_in", "method", "gate", "events")


def local_time(instant: datetime | str | None, tz: str) -> str | None:
    """An instant (aware, or RFC 3339 UTC text) as local ISO 8601 with its offset (2026-11-24T08:45:00.000+01:00)."""
    if instant is None:
        return None
    t = datetime.fromisoformat(instant.replace("Z", "+00:00")) if isinstance(instant, str) else instant
    return t.astimezone(ZoneInfo(tz)).isoformat(timespec="milliseconds")


def unidentified(db: WebDb, site_id: str, day: date, tz: str) -> dict[str, int]:
    """Check-ins of the day with nobody identified, by decision (a denied card, an unknown face)."""
    lo, hi = day_bounds(day, tz)
    rows = db.query(
        "SELECT decision, count(*) AS n FROM checkins WHERE site_id = ? AND occurred_at >= ? AND occurred_at < ? "
        "AND (decision <> 'granted' OR person_id IS NULL) GROUP BY decision",
        (site_id, lo, hi),
    )
    out = {"denied": 0, "unknown": 0}
    out.update({str(r["decision"]): int(r["n"]) for r in rows})
    return out


def judge_day(db: WebDb, state: SchoolState, day: date, now: datetime) -> list[StudentDay]:
    """Every student enrolled on `day`, judged at `now`: present first by arrival, then the others by name."""
    d = state.directory(None)
    by_class = school_day(db, d.calendar, state.site_id, state.students, day, now)
    rows = [r for rows in by_class.values() for r in rows]
    far = datetime.max.replace(tzinfo=ZoneInfo("UTC"))
    rows.sort(key=lambda r: (r.first_in is None, r.first_in or far, r.person.name, r.person.person_id))
    return rows


def _record(r: StudentDay, tz: str) -> dict[str, object]:
    return {
        "person_id": r.person.person_id,
        "name": r.person.name,
        "class": r.person.class_name,
        "status": r.status,
        "first_in": local_time(r.first_in, tz),
        "method": r.method,
        "gate": r.gate,
        "events": r.checkins,
    }


def write_attendance(
    db: WebDb,
    state: SchoolState,
    day: date,
    now: datetime,
    tz: str | None = None,
    fmt: Format = "table",
    out: IO[str] | None = None,
    console: Console | None = None,
) -> None:
    """The school's `day` judged at `now`; `tz` (default: the school's zone) is only how times are shown."""
    tz = tz or state.timezone
    rows = judge_day(db, state, day, now)
    records = [_record(r, tz) for r in rows]
    counts = {s: sum(rec["status"] == s for rec in records) for s in ("present", "late", "absent", "excused")}
    present_n = counts["present"] + counts["late"]
    nobody = unidentified(db, state.site_id, day, state.timezone)
    if fmt == "json":
        doc = {
            "school": state.site_id,
            "date": day.isoformat(),
            "tz": tz,
            "school_day": state.directory(None).calendar.check(day).school_day,
            "present": present_n,
            "late": counts["late"],
            "absent": counts["absent"],
            "excused": counts["excused"],
            "roster": len(rows),
            "unidentified": nobody,
            "people": records,
        }
        con = console or Console(file=out, soft_wrap=True)
        con.out(json.dumps(doc, ensure_ascii=False), highlight=False)
        return
    if fmt == "csv":
        import sys

        write_csv(out or sys.stdout, FIELDS, records)
        return
    verdict = state.directory(None).calendar.check(day)
    table = Table(title=f"Attendance {state.name} {day.isoformat()} ({tz}): {verdict.reason}")
    for col in ("person", "name", "class", "status", "first in", "method", "gate", "events"):
        table.add_column(col, no_wrap=col in ("person", "first in"))
    colour = {"late": "yellow", "absent": "red", "excused": "cyan", "pending": "dim"}
    for rec, r in zip(records, rows, strict=True):
        status = str(rec["status"])
        table.add_row(
            escape(str(rec["person_id"])),  # a name is data, never rich markup
            escape(str(rec["name"])),
            escape(str(rec["class"])),
            f"[{colour[status]}]{status}[/{colour[status]}]" if status in colour else status,
            str(rec["first_in"] or ""),
            escape(r.method or ""),
            escape(r.gate or ""),
            str(r.checkins),
            style=None if r.first_in is not None else "dim",
        )
    con = console or Console(file=out)
    if not con.is_terminal:
        wide = con.options.update_width(100_000)
        con.width = max(con.width, int(table.__rich_measure__(con, wide).maximum))
    con.print(table)
    con.print(
        f"present {present_n}/{len(rows)} (late {counts['late']}), absent {counts['absent']}, excused "
        f"{counts['excused']}; events with nobody identified: {nobody.get('denied', 0)} denied card(s), "
        f"{nobody.get('unknown', 0)} unknown face(s)"
    )
