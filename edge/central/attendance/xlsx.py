"""A small streaming XLSX (Office Open XML SpreadsheetML) writer for the report downloads.

Why not openpyxl's writer: without lxml (not in our pinned set) its write-only mode serialises every cell through
a pure-Python XML tree — 5.7 s for a 2,000-student month here, against the issue's 2 s for a monthly report.
This writer produces the same kind of workbook (openpyxl, LibreOffice and Excel open it; the tests read it back
with openpyxl) by writing the sheet XML as text straight into the zip, ~10× faster, in constant memory.

What it writes: one or more sheets, a bold header row with the panes frozen under it, text as inline strings
(never a formula: there is no <f> element, and text cells still go through the caller's spreadsheet-safe rule),
int/float as numbers, `Percent` as a number shown '0.0%' (0.8333 → 83.3%), dates as date serials in the caller's
format (dd/mm/yyyy for a Vietnamese office, yyyy-mm-dd by default), times of day as fractions with hh:mm:ss,
None as an empty cell. Characters XML 1.0 cannot carry (control characters other than tab/CR/LF) become U+FFFD.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import IO, Any
from xml.sax.saxutils import escape

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = date(1899, 12, 30)
STYLE_DATE, STYLE_TIME, STYLE_HEADER, STYLE_PERCENT = 1, 2, 3, 4


class Percent(float):
    """A share (0.8333) written as a number with Excel's '0.0%' format: shown 83.3%, still a number to compute with."""


_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
{sheets}</Types>"""
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{main}">\
<numFmts count="3"><numFmt numFmtId="164" formatCode="{date_format}"/><numFmt numFmtId="165" formatCode="hh:mm:ss"/>\
<numFmt numFmtId="166" formatCode="0.0%"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font>\
</fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def column(i: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _text(value: str) -> str:
    return escape(_ILLEGAL.sub("\ufffd", value))


def cell(ref: str, value: Any, style: int = 0) -> str:
    """One <c> element ('' for None)."""
    s = f' s="{style}"' if style else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="inlineStr"{s}><is><t>{"yes" if value else "no"}</t></is></c>'
    if isinstance(value, Percent):
        return f'<c r="{ref}" s="{style or STYLE_PERCENT}"><v>{float(value)!r}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None)
        serial = (value.date() - _EPOCH).days + (value - datetime.combine(value.date(), time())).seconds / 86400
        return f'<c r="{ref}" s="{style or STYLE_DATE}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{style or STYLE_DATE}"><v>{(value - _EPOCH).days}</v></c>'
    if isinstance(value, time):
        frac = (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
        return f'<c r="{ref}" s="{style or STYLE_TIME}"><v>{frac!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"{s}><is><t xml:space="preserve">{_text(str(value))}</t></is></c>'


def _sheet(zf: zipfile.ZipFile, n: int, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cols = [column(i) for i in range(len(header))]
    with zf.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as raw:
        out = _Buffered(raw)
        out.write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<cols><col min="1" max="{len(header)}" width="16" customWidth="1"/></cols><sheetData>'
        )
        out.write('<row r="1">' + "".join(cell(f"{c}1", h, STYLE_HEADER) for c, h in zip(cols, header, strict=True)))
        out.write("</row>")
        for r, values in enumerate(rows, start=2):
            out.write(f'<row r="{r}">' + "".join(cell(f"{c}{r}", v) for c, v in zip(cols, values, strict=True)))
            out.write("</row>")
        out.write("</sheetData></worksheet>")
        out.flush()


class _Buffered:
    """Collect small strings and write them to the zip member in ~64 KiB UTF-8 pieces."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= 65536:
            self.flush()

    def flush(self) -> None:
        self.raw.write("".join(self.parts).encode("utf-8"))
        self.parts, self.size = [], 0


def write_workbook(
    out: IO[bytes],
    sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]],
    date_format: str = "yyyy-mm-dd",
) -> None:
    """sheets: (title, header, rows); titles ≤ 31 characters without []:*?/\\ (Excel's rule, checked);
    `date_format`: Excel's number format of the date cells (letters d m y and / - . only)."""
    if not re.fullmatch(r"[dmy/.\- ]{1,20}", date_format):
        raise ValueError(f"date format {date_format!r} is not one this writer allows")
    for title, _, _ in sheets:
        if not title or len(title) > 31 or re.search(r"[\[\]:*?/\\]", title):
            raise ValueError(f"sheet title {title!r} is not allowed in a workbook")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        types = "".join(_SHEET_TYPE.format(n=i + 1) for i in range(len(sheets)))
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.format(sheets=types))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        names = "".join(
            f'<sheet name="{escape(t, {chr(34): "&quot;"})}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
            for i, (t, _, _) in enumerate(sheets)
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f"<sheets>{names}</sheets></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i + 1}" Type="{_REL}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
            for i in range(len(sheets))
        )
        rels += f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            "</Relationships>",
        )
        zf.writestr("xl/styles.xml", _STYLES.format(main=_MAIN, date_format=date_format))
        for i, (_, header, rows) in enumerate(sheets):
            _sheet(zf, i + 1, header, rows)
