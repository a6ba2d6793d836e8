"""Rendering reports for people (rich tables)."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.table import Table

from edge.collector.attendance import attendance
from edge.collector.store import CheckinStore
from edge.roster import Person


def print_attendance(
    store: CheckinStore,
    roster: list[Person],
    day: date | None = None,
    tz: str = "UTC",
    console: Console | None = None,
) -> None:
    rows, unidentified = attendance(store, roster, day, tz)
    title = f"Attendance {day.isoformat() if day else '(all days)'}"
    table = Table(title=title)
    for col in ("person", "name", "class", "first in (UTC)", "method", "gate", "events"):
        table.add_column(col)
    for r in rows:
        present = r.first_in is not None
        table.add_row(
            r.person_id,
            r.name,
            r.class_name,
            r.first_in or "[red]absent[/red]",
            r.method or "",
            r.gate or "",
            str(r.checkins),
            style=None if present else "dim",
        )
    con = console or Console()
    con.print(table)
    present_n = sum(r.first_in is not None for r in rows)
    con.print(
        f"present {present_n}/{len(rows)}; events with nobody identified: "
        f"{unidentified.get('denied', 0)} denied card(s), {unidentified.get('unknown', 0)} unknown face(s)"
    )
