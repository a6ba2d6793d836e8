"""Report downloads: CSV, XLSX and Ed-Fi JSON of an attendance range — bytes in chunks, a filename, a media type.

One function per format, each taking the same RangeReport (edge/central/attendance/summary.py), so the three files
of one request always agree. Every text cell goes through edge/central/spreadsheet.py's `safe_cell` (a pupil
named `=HYPERLINK(...)` is shown as text, never run); XLSX cells are also typed as strings, dates as dates, times
as times (school's time zone, stated in the header), with a header row and the panes frozen under it — written by
edge/central/attendance/xlsx.py (openpyxl's writer is 10× slower without lxml; tests read the files with openpyxl).

Streaming-safe: the CSV and JSON bodies are generators (a whole school month is ~40,000 rows and never one
string); the XLSX is written sheet by sheet into a spooled temporary file (memory up to 8 MiB,
disk beyond) and read back in 64 KiB chunks.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from edge.central.attendance.calendar import SchoolCalendar
from edge.central.attendance.edfi import iter_json
from edge.central.attendance.summary import DAY_FIELDS, SUMMARY_FIELDS, RangeReport
from edge.central.attendance.xlsx import write_workbook
from edge.central.spreadsheet import safe_cell

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON_TYPE = "application/json"
CHUNK = 64 * 1024
Layout = Literal["days", "summary"]


@dataclass
class Download:
    filename: str
    media_type: str
    chunks: Iterable[bytes]

    def read(self) -> bytes:
        """The whole body (tests, small files); a server streams `chunks` instead."""
        return b"".join(self.chunks)


def filename(school_id: str, start: date, end: date, classes: Sequence[str] | None, layout: str, ext: str) -> str:
    """attendance_<school>_<from>_<to>[_<class>]_<layout>.<ext>, only [A-Za-z0-9._-] (a class name is data: it
    must not put a quote or a path into a Content-Disposition header)."""
    parts = ["attendance", school_id, start.isoformat(), end.isoformat()]
    if classes and len(classes) == 1:
        parts.append(classes[0])
    parts.append(layout)
    name = "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", p).strip("-.") or "x" for p in parts)
    return f"{name}.{ext}"


def _text(value: Any) -> Any:
    """A value as a CSV cell: dates ISO, times HH:MM:SS, booleans yes/no, the rest as is."""
    if isinstance(value, datetime):
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"  # strftime is 3x slower, 80k times a month
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _rows(report: RangeReport, layout: Layout) -> tuple[tuple[str, ...], Iterable[dict[str, Any]]]:
    if layout == "summary":
        return SUMMARY_FIELDS, (s.as_row() for s in report.summaries())
    return DAY_FIELDS, report.day_rows()


def csv_download(report: RangeReport, school_id: str, layout: Layout = "days") -> Download:
    """UTF-8 with a BOM (Excel then reads Vietnamese names right), CRLF, every cell spreadsheet-safe."""
    fields, rows = _rows(report, layout)

    def body() -> Iterator[bytes]:
        buf = io.StringIO()
        buf.write("\ufeff")
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(fields)
        for r in rows:
            writer.writerow([safe_cell(_text(r.get(f))) for f in fields])
            if buf.tell() >= CHUNK:
                yield buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode("utf-8")

    name = filename(school_id, report.start, report.end, report.classes, layout, "csv")
    return Download(name, CSV_TYPE, body())


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, datetime):  # an arrival/departure: the day has its own column, keep the local time
        return value.time()
    if isinstance(value, str):
        return safe_cell(value)
    return value


def _header(fields: Sequence[str], tz: str) -> list[str]:
    return [f"{f} ({tz})" if f in ("first_in", "last_out") else f for f in fields]


def xlsx_download(report: RangeReport, school_id: str) -> Download:
    """One workbook, two sheets: 'summary' (per student) and 'days' (per student per school day)."""
    tz = report.timezone
    summary = ([_xlsx_value(r.get(f)) for f in SUMMARY_FIELDS] for r in (s.as_row() for s in report.summaries()))
    days = ([_xlsx_value(r.get(f)) for f in DAY_FIELDS] for r in report.day_rows())
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (closed by the generator)
    write_workbook(spool, [("summary", _header(SUMMARY_FIELDS, tz), summary), ("days", _header(DAY_FIELDS, tz), days)])
    spool.seek(0)

    def body() -> Iterator[bytes]:
        try:
            while chunk := spool.read(CHUNK):
                yield chunk
        finally:
            spool.close()

    name = filename(school_id, report.start, report.end, report.classes, "attendance", "xlsx")
    return Download(name, XLSX_TYPE, body())


def edfi_download(
    report: RangeReport, school_id: str, calendar: SchoolCalendar, generated_at: datetime | None = None
) -> Download:
    """The Ed-Fi StudentSchoolAttendanceEvent document (edge/central/attendance/edfi.py)."""
    when = generated_at or datetime.now(UTC).astimezone(calendar.tz)

    def body() -> Iterator[bytes]:
        buf: list[str] = []
        size = 0
        for piece in iter_json(report, school_id, calendar, when):
            buf.append(piece)
            size += len(piece)
            if size >= CHUNK:
                yield "".join(buf).encode("utf-8")
                buf, size = [], 0
        yield "".join(buf).encode("utf-8")

    name = filename(school_id, report.start, report.end, report.classes, "ed-fi", "json")
    return Download(name, JSON_TYPE, body())
