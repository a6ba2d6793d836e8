"""The school's question for a day: who came in, when, how — and who has not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from edge.central.attendance.collation import name_key
from edge.central.attendance.export import select_checkins
from edge.central.attendance.rule import Tap
from edge.central.store import CheckinStore
from edge.roster import Person


@dataclass(frozen=True)
class AttendanceRow:
    person_id: str
    name: str
    class_name: str
    first_in: str | None
    """RFC 3339 UTC (as stored); the report converts it to the school's time zone."""
    method: str | None
    gate: str | None
    checkins: int
    taps: list[Tap] = field(default_factory=list)
    """The person's granted check-ins, for the attendance rule (edge/central/attendance/rule.py)."""


def attendance(
    store: CheckinStore, roster: list[Person], day: date | None = None, tz: str = "UTC"
) -> tuple[list[AttendanceRow], dict[str, int]]:
    """One row per roster person (present first, by arrival; the rest in register order), and counts of events
    with nobody identified."""
    first: dict[str, dict[str, str]] = {}
    taps: dict[str, list[Tap]] = {}
    counts: dict[str, int] = {}
    unidentified = {"denied": 0, "unknown": 0}
    for r in select_checkins(store, day, tz):
        if r["decision"] != "granted" or r["person_id"] is None:
            unidentified[r["decision"]] = unidentified.get(r["decision"], 0) + 1
            continue
        pid = r["person_id"]
        counts[pid] = counts.get(pid, 0) + 1
        when = datetime.fromisoformat(r["occurred_at"].replace("Z", "+00:00"))
        taps.setdefault(pid, []).append(Tap(when, r["direction"], r["decision"]))
        if r["direction"] == "in" and pid not in first:
            first[pid] = r
    rows = [
        AttendanceRow(
            p.person_id,
            p.name,
            p.class_name,
            first.get(p.person_id, {}).get("occurred_at"),
            first.get(p.person_id, {}).get("method"),
            first.get(p.person_id, {}).get("gate"),
            counts.get(p.person_id, 0),
            taps.get(p.person_id, []),
        )
        for p in roster
    ]
    rows.sort(key=lambda a: (a.first_in is None, a.first_in or "", name_key(a.name), a.person_id))
    return rows, unidentified
