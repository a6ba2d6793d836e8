"""`edge export`: stored check-ins as JSON lines or CSV (spreadsheet-safe), optionally for one local date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from edge.central.spreadsheet import write_csv
from edge.central.store import CHECKIN_COLUMNS, CheckinStore
from edge.contract.checkin import rfc3339_ms


def day_bounds(day: date, tz: str = "UTC") -> tuple[str, str]:
    """[start, end) of a local calendar day as RFC 3339 UTC strings (comparable with occurred_at)."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(tz))
    return rfc3339_ms(start.astimezone(UTC)), rfc3339_ms(end.astimezone(UTC))


def select_checkins(
    store: CheckinStore, day: date | None = None, tz: str = "UTC", order: Literal["time", "seq"] = "time"
) -> Iterator[dict[str, Any]]:
    if day is None:
        yield from store.checkins(order=order)
        return
    lo, hi = day_bounds(day, tz)
    yield from store.checkins(lo, hi, order=order)


def write_export(rows: Iterator[dict[str, Any]], out: IO[str], fmt: str) -> int:
    n = 0
    if fmt == "jsonl":
        for r in rows:
            out.write(r["payload"] + "\n")
            n += 1
        return n
    return write_csv(out, CHECKIN_COLUMNS, rows)
