"""Report downloads: CSV, XLSX and Ed-Fi JSON of an attendance range — bytes in chunks, a filename, a media type.

One function per format, each taking the same RangeReport (edge/central/attendance/summary.py), so the three files
of one request always agree. Headers, status words, methods, gate names and dates are in the school's language
(Vietnamese unless English is asked for; edge/central/attendance/labels.py): "Vắng có phép", "16/11/2026"; the rate
is a percentage (83,3% in a CSV; in an XLSX the number 0.833 shown 83.3%). Ed-Fi keeps its English descriptors.
Every text cell goes through edge/central/spreadsheet.py's `safe_cell` (a pupil
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
from edge.central.attendance.labels import Words
from edge.central.attendance.summary import DAY_FIELDS, SUMMARY_FIELDS, RangeReport, StudentSummary
from edge.central.attendance.xlsx import Percent, write_workbook
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


def _summary_row(s: StudentSummary) -> dict[str, Any]:
    """The summary's values for a file: the rate unrounded (the file's format shows it; the JSON API rounds)."""
    return {**s.as_row(), "attendance_rate": s.rate}


def _rows(report: RangeReport, layout: Layout) -> tuple[tuple[str, ...], Iterable[dict[str, Any]]]:
    if layout == "summary":
        return SUMMARY_FIELDS, (_summary_row(s) for s in report.summaries())
    return DAY_FIELDS, report.day_rows()


def _words_of(row: dict[str, Any], words: Words) -> dict[str, Any]:
    """Codes as the reader's words: status, method, gate name, yes/no."""
    out = dict(row)
    if "status" in out:
        out["status"] = words.status(out["status"])
        out["method"] = words.method(out["method"])
        out["gate"] = words.gate(out["gate"])
        out["early_departure"] = words.yes_no(out["early_departure"])
    return out


def _csv_text(key: str, value: Any, words: Words) -> Any:
    """A value as a CSV cell: dates in the language's way, times HH:MM:SS, the rate as a percentage."""
    if key == "attendance_rate":
        return words.percent(value)
    if isinstance(value, datetime):
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"  # strftime is 3x slower, 80k times a month
    if isinstance(value, date):
        return words.date(value)
    return value


def _header(fields: Sequence[str], tz: str, words: Words) -> list[str]:
    """The header row in words; arrival and departure name the time zone their times are in."""
    return [f"{words.column(f)} ({tz})" if f in ("first_in", "last_out") else words.column(f) for f in fields]


def csv_download(report: RangeReport, school_id: str, layout: Layout = "days", words: Words | None = None) -> Download:
    """UTF-8 with a BOM (Excel then reads Vietnamese names right), CRLF, every cell spreadsheet-safe."""
    words = words or Words()
    fields, rows = _rows(report, layout)

    def body() -> Iterator[bytes]:
        buf = io.StringIO()
        buf.write("\ufeff")
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(_header(fields, report.timezone, words))
        for row in rows:
            r = _words_of(row, words)
            writer.writerow([safe_cell(_csv_text(f, r.get(f), words)) for f in fields])
            if buf.tell() >= CHUNK:
                yield buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode("utf-8")

    name = filename(school_id, report.start, report.end, report.classes, layout, "csv")
    return Download(name, CSV_TYPE, body())


def _xlsx_value(key: str, value: Any) -> Any:
    if key == "attendance_rate":
        return None if value is None else Percent(value)
    if isinstance(value, datetime):  # an arrival/departure: the day has its own column, keep the local time
        return value.time()
    if isinstance(value, str):
        return safe_cell(value)
    return value


def xlsx_download(report: RangeReport, school_id: str, words: Words | None = None) -> Download:
    """One workbook, two sheets: the summary (per student) and the days (per student per school day)."""
    words = words or Words()
    tz = report.timezone
    summary = (
        [_xlsx_value(f, r.get(f)) for f in SUMMARY_FIELDS] for r in (_summary_row(s) for s in report.summaries())
    )
    days = ([_xlsx_value(f, r.get(f)) for f in DAY_FIELDS] for r in (_words_of(d, words) for d in report.day_rows()))
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (closed by the generator)
    write_workbook(
        spool,
        [
            (words.sheet("summary"), _header(SUMMARY_FIELDS, tz, words), summary),
            (words.sheet("days"), _header(DAY_FIELDS, tz, words), days),
        ],
        date_format=words.excel_date_format,
    )
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
    report: RangeReport,
    school_id: str,
    edfi_school_id: int,
    calendar: SchoolCalendar,
    generated_at: datetime | None = None,
    words: Words | None = None,
) -> Download:
    """The Ed-Fi StudentSchoolAttendanceEvent document (edge/central/attendance/edfi.py): `edfi_school_id` is the
    school's Ed-Fi number (an integer the state assigns), `school_id` our site id (the file's name)."""
    when = generated_at or datetime.now(UTC).astimezone(calendar.tz)
    words = words or Words()

    def body() -> Iterator[bytes]:
        buf: list[str] = []
        size = 0
        for piece in iter_json(report, edfi_school_id, calendar, when, words):
            buf.append(piece)
            size += len(piece)
            if size >= CHUNK:
                yield "".join(buf).encode("utf-8")
                buf, size = [], 0
        yield "".join(buf).encode("utf-8")

    name = filename(school_id, report.start, report.end, report.classes, "ed-fi", "json")
    return Download(name, JSON_TYPE, body())
