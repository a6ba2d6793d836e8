"""The roster as the office keeps it: a template workbook to fill in and the current roster exported, both with
the headers in the school's language (roster_columns.HEADERS) so the file goes back through the import as is.

Why the card column is Text: Excel turns a typed 0012345678 into the number 12345678 (and 14-digit UIDs into
1.23457E+13); a column formatted as Text ('@') keeps what is typed. The date columns are Text for the same reason
(YYYY-MM-DD, the form the import reads). Cells that would start a formula go through edge/central/spreadsheet.py
like every download. Students are listed class by class, each class in Vietnamese register order
(edge/central/attendance/collation.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date

from edge.central import catalogs
from edge.central.attendance.collation import school_order
from edge.central.roster_columns import HEADERS
from edge.central.spreadsheet import safe_cell
from edge.roster import Person

FIELDS = ("person_id", "name", "class", "card_uid", "photos", "enrolled_from", "enrolled_until")
TEXT_COLUMNS = ("person_id", "card_uid", "enrolled_from", "enrolled_until")
"""Formatted as Text in the workbook: identifiers and dates Excel would otherwise turn into numbers."""
WIDTHS = {"person_id": 14, "name": 30, "class": 8, "card_uid": 16, "photos": 16, "enrolled_from": 15,
          "enrolled_until": 15}  # fmt: skip
EXAMPLE = Person("hs0001", "Nguyễn Thị Minh Anh", "6A", "0012345678", (), date(2026, 9, 5), None)
"""The template's one example row: a card number with leading zeros, as the office will type them."""
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def header(lang: str) -> list[str]:
    words = HEADERS.get(lang, HEADERS["vi"])
    return [words[f] for f in FIELDS]


def row(p: Person) -> list[str]:
    return [
        p.person_id,
        p.name,
        p.class_name,
        p.card_uid or "",
        ";".join(p.photos),
        "" if p.enrolled_from is None else p.enrolled_from.isoformat(),
        "" if p.enrolled_until is None else p.enrolled_until.isoformat(),
    ]


def roster_xlsx(people: Iterable[Person], lang: str, sheet: str = "roster.sheet") -> bytes:
    """A workbook: the header in `lang`, one row per student in register order, text columns formatted as Text;
    the sheet named by the catalog message `sheet`."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = catalogs.text(lang, sheet)[:31]  # Excel's limit for a sheet name
    ws.append(header(lang))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for p in school_order(people):
        ws.append([safe_cell(v) for v in row(p)])
    for i, f in enumerate(FIELDS, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        ws.column_dimensions[letter].width = WIDTHS[f]
        if f in TEXT_COLUMNS:
            ws.column_dimensions[letter].number_format = "@"  # rows typed later are Text too
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = "@"
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_xlsx(lang: str) -> bytes:
    """The template: the header in `lang`, one example row, the card and date columns formatted as Text."""
    return roster_xlsx([EXAMPLE], lang, "roster.sheet_template")


def roster_csv(people: Iterable[Person], lang: str) -> bytes:
    """UTF-8 with a BOM (Excel then reads Vietnamese names right), CRLF, every cell spreadsheet-safe."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header(lang))
    for p in school_order(people):
        writer.writerow([safe_cell(v) for v in row(p)])
    return buf.getvalue().encode("utf-8")
