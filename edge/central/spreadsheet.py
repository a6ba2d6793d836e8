"""Cells safe to open in a spreadsheet: the one rule every CSV/XLSX the project writes goes through.

A cell beginning with =, +, -, @, a tab or a carriage return is read by Excel/LibreOffice/Sheets as a formula
(CSV injection: `=HYPERLINK(...)` in a pupil's name, `=cmd|' /C calc'!A0` in a gate id). Following the OWASP
guidance, such a cell is prefixed with a single quote, which the spreadsheet shows as text; nothing is removed,
so the original value can still be read. Numbers (int/float) are written as numbers: a negative number is data,
not a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` for a spreadsheet cell: strings that would start a formula get a leading single quote; None is ''."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def safe_row(row: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {k: safe_cell(row.get(k)) for k in fields}


def write_csv(out: IO[str], fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """A header and one line per row, every cell through safe_cell; returns the number of rows."""
    # CRLF line ends (RFC 4180): the csv module quotes a field holding any line-end character, so a CR or LF
    # inside a name stays inside its cell
    writer = csv.DictWriter(out, fieldnames=list(fields), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    n = 0
    for r in rows:
        writer.writerow(safe_row(r, fields))
        n += 1
    return n
