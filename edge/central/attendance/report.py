"""`edge report`: the day's attendance for people (a rich table), spreadsheets (CSV) or programs (JSON).

Times are shown in the school's time zone (--tz), not UTC. The table is never cut to 80 columns when the output
is a pipe or a file: the console is as wide as the table needs."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import IO, Literal
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edge.central.attendance.calendar import SchoolCalendar
from edge.central.attendance.daily import AttendanceRow, attendance
from edge.central.attendance.rule import decide
from edge.central.spreadsheet import write_csv
from edge.central.store import CheckinStore
from edge.roster import Person

Format = Literal["table", "csv", "json"]
FIELDS = ("person_id", "name", "class", "status", "first_in", "method", "gate", "events")


def local_time(utc: str | None, tz: str) -> str | None:
    """An RFC 3339 UTC instant as local ISO 8601 with its offset (2026-11-24T08:45:00.000+01:00)."""
    if utc is None:
        return None
    t = datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    return t.isoformat(timespec="milliseconds")


def _status(r: AttendanceRow, day: date | None, calendar: SchoolCalendar | None) -> str:
    """present / absent from the check-ins alone; with the school's calendar and a day, THE rule's verdict
    (present / late / absent / no_school), the same one the parents' notices use."""
    if calendar is None or day is None:
        return "present" if r.first_in is not None else "absent"
    return str(decide(calendar, r.class_name, day, r.taps).status)


def _record(r: AttendanceRow, tz: str, status: str) -> dict[str, object]:
    d = asdict(r)
    return {
        "person_id": d["person_id"],
        "name": d["name"],
        "class": d["class_name"],
        "status": status,
        "first_in": local_time(r.first_in, tz),
        "method": r.method,
        "gate": r.gate,
        "events": r.checkins,
    }


def write_attendance(
    store: CheckinStore,
    roster: list[Person],
    day: date | None = None,
    tz: str = "UTC",
    fmt: Format = "table",
    out: IO[str] | None = None,
    console: Console | None = None,
    calendar: SchoolCalendar | None = None,
) -> None:
    """`calendar` (the school's, from central.yaml) makes "late" and "no school" follow the attendance rule."""
    rows, unidentified = attendance(store, roster, day, tz)
    records = [_record(r, tz, _status(r, day, calendar)) for r in rows]
    if fmt == "json":
        doc = {
            "date": day.isoformat() if day else None,
            "tz": tz,
            "present": sum(r.first_in is not None for r in rows),
            "late": sum(rec["status"] == "late" for rec in records),
            "roster": len(rows),
            "unidentified": unidentified,
            "people": records,
        }
        con = console or Console(file=out, soft_wrap=True)
        con.out(json.dumps(doc, ensure_ascii=False), highlight=False)
        return
    if fmt == "csv":
        import sys

        write_csv(out or sys.stdout, FIELDS, records)
        return
    table = Table(title=f"Attendance {day.isoformat() if day else '(all days)'} ({tz})")
    for col in ("person", "name", "class", "status", "first in", "method", "gate", "events"):
        table.add_column(col, no_wrap=col in ("person", "first in"))
    for rec, r in zip(records, rows, strict=True):
        present = r.first_in is not None
        table.add_row(
            escape(str(rec["person_id"])),  # a name is data, never rich markup
            escape(str(rec["name"])),
            escape(str(rec["class"])),
            "[yellow]late[/yellow]" if rec["status"] == "late" else str(rec["status"]),
            str(rec["first_in"]) if present else "[red]absent[/red]",
            escape(r.method or ""),
            escape(r.gate or ""),
            str(r.checkins),
            style=None if present else "dim",
        )
    con = console or Console(file=out)
    if not con.is_terminal:
        wide = con.options.update_width(100_000)
        con.width = max(con.width, int(table.__rich_measure__(con, wide).maximum))
    con.print(table)
    present_n = sum(r.first_in is not None for r in rows)
    con.print(
        f"present {present_n}/{len(rows)}; events with nobody identified: "
        f"{unidentified.get('denied', 0)} denied card(s), {unidentified.get('unknown', 0)} unknown face(s)"
    )
