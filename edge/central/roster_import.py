"""Roster and guardians upload: CSV or XLSX in, a preview of what would change, then an all-or-nothing apply.

Why this shape: the office keeps the roster in a spreadsheet, and a wrong upload must never half-replace the
school's state that the notifier, the collector and the gateways run on (the store, #20). So an upload is

1. **read** (`read_table`): the format is decided by the bytes, never by the file name — an XLSX is a zip holding
   `[Content_Types].xml`; anything else must be UTF-8 CSV. Size (2 MiB), rows (20,000), columns and the unzipped
   size of an XLSX are capped before anything is parsed, so a zip bomb or a 1,000,000-row sheet is refused
   cheaply. Each row keeps the number the user sees in the spreadsheet (a CSV record with a line break inside a
   quoted name is still one row).
2. **checked** with the existing rules, not a copy of them: the rows are written as canonical CSV and given to
   `edge.roster.read_roster_csv` and `edge.central.guardians.parse_guardians`; their "line N" is mapped back to
   the spreadsheet's row N'. Guardians are checked against the roster that will be in force (the new one if a
   roster is uploaded too), so removing a student with guardians is an error, not a dangling row.
3. **previewed**: added / changed (field by field) / removed against the students enrolled today in the store.
4. **applied** (`apply_preview`): only when no row has an error; students and guardians are written in ONE
   transaction of the store that also bumps the school's version (edge/central/school/edits.py), so every process
   and the gateways' roster follow it within seconds, or nothing changes at all. A new student is enrolled from
   the import day; a student missing from the uploaded roster leaves (enrolled until yesterday, history kept).
   A preview made against a version of the school that has changed since is refused (`StaleImport`).

Formula cells (`=HYPERLINK(...)`) and HTML in names are data: kept exactly as typed in the store (an XLSX
formula is read as its text, never evaluated); the web page escapes them and every CSV/XLSX download neutralises
them (edge/central/spreadsheet.py).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

from edge.central.guardians import Guardian, GuardiansError, parse_guardians
from edge.central.school import edits
from edge.central.school.edits import RosterChange
from edge.central.school.state import SchoolState, load_school, version_of
from edge.central.web.db import WebDb
from edge.config.central import DEFAULT_KINDS, SchoolConfig
from edge.roster import Person, RosterError, read_roster_csv

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 64
MAX_UNZIPPED = 64 * 1024 * 1024
"""An XLSX whose parts unzip to more than this is refused (a real 20,000-row roster is a few MiB)."""
MAX_CELL = 10_000

Kind = Literal["roster", "guardians"]
ROSTER_FIELDS = ("person_id", "name", "class", "card_uid", "photos")
GUARDIAN_FIELDS = ("person_id", "name", "phone", "email", "channel", "language", "kinds", "guardian_id")
_LINE = re.compile(r"\bline (\d+)")


class UploadError(ValueError):
    """The upload as a whole cannot be read (too big, not a spreadsheet, not UTF-8); the message says what to do."""


class StaleImport(RuntimeError):
    """The school's roster or guardians changed in the store after the preview was made: preview again."""


@dataclass(frozen=True)
class Table:
    """An uploaded sheet: the header and the non-blank rows, each with its spreadsheet row number (1 = header)."""

    fmt: Literal["csv", "xlsx"]
    header: list[str]
    rows: list[tuple[int, list[str]]]


@dataclass(frozen=True)
class Problem:
    file: str
    """'roster' or 'guardians'."""
    row: int | None
    """The spreadsheet row (1 = the header), or None for a problem of the whole file."""
    message: str

    def __str__(self) -> str:
        return f"{self.file}: " + (f"row {self.row}: " if self.row is not None else "") + self.message


@dataclass(frozen=True)
class Change:
    key: str
    fields: dict[str, tuple[str, str]]
    """field -> (old, new)."""


@dataclass
class Diff:
    added: list[dict[str, str]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass
class Preview:
    """What an upload would do. `errors` empty ⇔ it can be applied; `base` is the school's version in the store it
    was made against."""

    school_id: str
    base: str
    errors: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    roster: Diff | None = None
    guardians: Diff | None = None
    roster_text: str | None = None
    guardians_text: str | None = None
    students: int = 0
    guardian_rows: int = 0
    people: list[Person] | None = None
    """The checked roster rows to write (None: no roster uploaded)."""
    guardian_list: list[Guardian] | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and (self.roster_text is not None or self.guardians_text is not None)


# ---------------------------------------------------------------------------------------------------- reading


def detect(data: bytes) -> Literal["csv", "xlsx"]:
    """'xlsx' for a zip holding [Content_Types].xml, 'csv' for UTF-8 text; UploadError (with what it looks like)
    for anything else."""
    if len(data) > MAX_BYTES:
        raise UploadError(f"the file is {len(data):,} bytes; the limit is {MAX_BYTES:,} (2 MiB)")
    if not data.strip():
        raise UploadError("the file is empty")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
                if "mimetype" in names and b"opendocument" in z.read("mimetype")[:100]:
                    raise UploadError("an OpenDocument (.ods) file: save it as .xlsx or as CSV UTF-8")
        except zipfile.BadZipFile as exc:
            raise UploadError(f"a damaged zip file, not a readable XLSX ({exc})") from None
        if "[Content_Types].xml" not in names:
            raise UploadError("a zip file, not a spreadsheet (no [Content_Types].xml)")
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadError("an old Excel .xls file: save it as .xlsx or as CSV UTF-8")
    if b"\x00" in data:
        raise UploadError("a binary file, not a CSV or XLSX spreadsheet")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): save it as 'CSV UTF-8' or as .xlsx"
        ) from None
    return "csv"


def read_table(data: bytes) -> Table:
    """The upload as a Table (see `detect` for the format rules and the module docstring for the caps)."""
    fmt = detect(data)
    rows = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(data.decode("utf-8").removeprefix("\ufeff"))
    if not rows or rows[0][0] != 1:
        raise UploadError("the first row must be the header (person_id,name,…)")
    header = [h.strip() for h in rows[0][1]]
    while header and not header[-1]:
        header.pop()
    body = [(n, cells) for n, cells in rows[1:] if any(c.strip() for c in cells)]
    return Table(fmt, header, body)


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    n = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UploadError(f"row {n + 1}: not valid CSV ({exc})") from None
        n += 1
        if n > MAX_ROWS + 1:
            raise UploadError(f"more than {MAX_ROWS:,} rows")
        if len(cells) > MAX_COLUMNS:
            raise UploadError(f"row {n}: {len(cells)} columns; at most {MAX_COLUMNS}")
        _check_cells(n, cells)
        out.append((n, cells))
    return out


def _check_cells(n: int, cells: Sequence[str]) -> None:
    long = next((c for c in cells if len(c) > MAX_CELL), None)
    if long is not None:
        raise UploadError(f"row {n}: a cell of {len(long):,} characters; at most {MAX_CELL:,}")


def _xlsx_value(v: Any) -> str:
    """A cell as the text the user typed: 0912… phone numbers stored as numbers lose nothing but the leading 0,
    which the guardians rules restore for Vietnamese numbers; integral floats print without '.0'."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date | time):
        return v.isoformat()
    text = getattr(v, "text", None)  # openpyxl's ArrayFormula / DataTableFormula: the formula's text
    return str(text) if isinstance(text, str) else str(v)


def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        unzipped = sum(i.file_size for i in z.infolist())
    if unzipped > MAX_UNZIPPED:
        raise UploadError(f"the workbook unzips to {unzipped:,} bytes; at most {MAX_UNZIPPED:,}")
    out: list[tuple[int, list[str]]] = []
    try:
        # read_only streams the sheet; data_only=False keeps a formula as its text (it is data, never run)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            if not wb.worksheets:
                raise UploadError("the workbook has no worksheet")
            ws = wb.worksheets[0]
            for n, values in enumerate(ws.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
                if n > MAX_ROWS + 1:
                    raise UploadError(f"more than {MAX_ROWS:,} rows")
                cells = [_xlsx_value(v) for v in values]
                while cells and cells[-1] == "":
                    cells.pop()
                _check_cells(n, cells)
                out.append((n, cells))
        finally:
            wb.close()
    except UploadError:
        raise
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, SyntaxError) as exc:
        # SyntaxError covers xml.etree's ParseError (a damaged or hostile sheet XML)
        raise UploadError(f"not a readable XLSX workbook ({type(exc).__name__}: {str(exc)[:200]})") from None
    return out


# ---------------------------------------------------------------------------------------- checking with the rules


def canonical_csv(header: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]]) -> tuple[str, dict[int, int]]:
    """Rows as CSV text, and for each CSV line number where a record ENDS (what csv's line_num reports) the
    spreadsheet row it came from."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # CRLF: a lone CR in a cell is then quoted
    writer.writerow(header)
    line = 1
    where = {1: 1}
    for n, cells in rows:
        start = buf.tell()
        writer.writerow(list(cells))
        record = buf.getvalue()[start:]
        line += len(io.StringIO(record, newline="").readlines())
        where[line] = n
    return buf.getvalue(), where


def _problems(kind: str, messages: Iterable[str], where: Mapping[int, int]) -> list[Problem]:
    """'line N: msg' from the CSV rules → Problem(row=N'), mentions of other lines mapped too."""
    out = []
    for m in messages:
        first = _LINE.match(m)
        row = where.get(int(first.group(1))) if first else None
        text = m[first.end() :].lstrip(": ") if first else m
        text = _LINE.sub(lambda x: f"row {where.get(int(x.group(1)), x.group(1))}", text)
        if first and row is None:  # a line we have no row for: keep it rather than guess
            text = f"line {first.group(1)}: {text}"
        out.append(Problem(kind, row, text))
    return out


def check_roster(table: Table) -> tuple[list[Person], list[Problem]]:
    """The existing roster rules (edge/roster.py) on the uploaded rows."""
    text, where = canonical_csv(table.header, table.rows)
    with tempfile.TemporaryDirectory(prefix="edge-roster-") as tmp:
        path = Path(tmp) / "roster.csv"
        path.write_text(text, encoding="utf-8")
        try:
            return read_roster_csv(path), []
        except RosterError as exc:
            return [], _problems("roster", exc.problems, where)


def check_guardians(
    table: Table, channels: Mapping[str, str], people: Collection[str] | None, default_kinds: Collection[str]
) -> tuple[list[Guardian], list[Problem]]:
    """The existing guardians rules (edge/central/guardians.py) on the uploaded rows."""
    text, where = canonical_csv(table.header, table.rows)
    try:
        return parse_guardians(text, channels=channels, people=people, default_kinds=default_kinds), []
    except GuardiansError as exc:
        return [], _problems("guardians", exc.problems, where)


# ------------------------------------------------------------------------------------------------ the preview


def roster_fields(p: Person) -> dict[str, str]:
    return {
        "person_id": p.person_id,
        "name": p.name,
        "class": p.class_name,
        "card_uid": p.card_uid or "",
        "photos": ";".join(p.photos),
    }


def guardian_fields(g: Guardian) -> dict[str, str]:
    return {
        "person_id": g.person_id,
        "name": g.name,
        "phone": g.phone or "",
        "email": g.email or "",
        "channel": g.channel,
        "language": g.language,
        "kinds": ";".join(sorted(g.kinds)),
        "guardian_id": g.guardian_id,
    }


def diff(old: Mapping[str, dict[str, str]], new: Mapping[str, dict[str, str]]) -> Diff:
    d = Diff()
    for key, row in new.items():
        before = old.get(key)
        if before is None:
            d.added.append(row)
        else:
            changed = {f: (before.get(f, ""), v) for f, v in row.items() if before.get(f, "") != v}
            if changed:
                d.changed.append(Change(key, changed))
    d.removed = [row for key, row in old.items() if key not in new]
    return d


def render_csv(fields: Sequence[str], rows: Iterable[Mapping[str, str]]) -> str:
    """The checked rows as CSV (what the preview shows was checked by the real loaders in exactly this form)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields), lineterminator="\r\n")  # CR in a cell: quoted
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return buf.getvalue()


def _current(state: SchoolState | None, today: date) -> tuple[list[Person], list[Guardian]]:
    """The students enrolled today and their guardians, as the store holds them."""
    if state is None:
        return [], []
    return state.enrolled(today), list(state.guardians)


def make_preview(
    school: SchoolConfig,
    roster_upload: bytes | None = None,
    guardians_upload: bytes | None = None,
    *,
    default_kinds: Collection[str] = DEFAULT_KINDS,
    current: SchoolState | None = None,
    today: date | None = None,
) -> Preview:
    """Read, check and compare the uploads (either or both) with `current`, the school's state in the store
    (None: a school without students yet); never writes anything. UploadError for an upload that is not a
    readable spreadsheet at all; row problems are in `Preview.errors`."""
    channels = {c.name: c.type for c in school.channels}
    pv = Preview(school.id, str(current.version if current is not None else 0))
    if roster_upload is None and guardians_upload is None:
        raise UploadError("choose a roster file, a guardians file, or both")
    old_people, old_guardians = _current(current, today or date.today())
    people = old_people
    if roster_upload is not None:
        try:
            table = read_table(roster_upload)
        except UploadError as exc:
            raise UploadError(f"roster: {exc}") from None
        people, problems = check_roster(table)
        pv.errors.extend(problems)
        if not problems:
            pv.roster = diff(
                {p.person_id: roster_fields(p) for p in old_people}, {p.person_id: roster_fields(p) for p in people}
            )
            pv.roster_text = render_csv(ROSTER_FIELDS, (roster_fields(p) for p in people))
            pv.students = len(people)
            pv.people = people
    ids = {p.person_id for p in people}
    if guardians_upload is not None:
        try:
            gtable = read_table(guardians_upload)
        except UploadError as exc:
            raise UploadError(f"guardians: {exc}") from None
        # a broken roster: still check the guardians' own rules, without the student ids
        guardians, problems = check_guardians(gtable, channels, None if pv.errors else ids, default_kinds)
        pv.errors.extend(problems)
        if not problems:
            pv.guardians = diff(
                {g.guardian_id: guardian_fields(g) for g in old_guardians or []},
                {g.guardian_id: guardian_fields(g) for g in guardians},
            )
            pv.guardians_text = render_csv(GUARDIAN_FIELDS, (guardian_fields(g) for g in guardians))
            pv.guardian_rows = len(guardians)
            pv.guardian_list = guardians
    elif roster_upload is not None and not pv.errors and old_guardians:
        orphans = sorted({g.person_id for g in old_guardians} - ids)
        for pid in orphans:
            pv.errors.append(
                Problem(
                    "guardians",
                    None,
                    f"the current guardians file names {pid!r}, who is not in the new roster: "
                    "upload the guardians file with this roster",
                )
            )
    return pv


# --------------------------------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class Applied:
    version: int
    """The school's version after the import (every process follows it)."""
    roster: RosterChange | None
    guardians: int | None
    """Guardian rows written, or None when no guardians file was uploaded."""


def apply_preview(db: WebDb, school: SchoolConfig, preview: Preview, *, today: date) -> Applied:
    """Write the preview's students and/or guardians into the store in one transaction (with the version bump);
    nothing is written when the preview has errors or the school changed since it was made (StaleImport).
    `today` is the school's date: new students are enrolled from it, missing ones leave the day before."""
    if preview.school_id != school.id:
        raise ValueError(f"this preview is for school {preview.school_id}, not {school.id}")
    if not preview.ok:
        raise ValueError("the upload has errors (or nothing to apply): nothing was written")
    with db.transaction() as tx:
        if tx.engine == "postgresql":  # one importer of a school at a time (the version check below then holds)
            tx.query("SELECT pg_advisory_xact_lock(hashtext(?))", (f"edge-school:{school.id}",))
        if str(version_of(tx, school.id)) != preview.base:
            raise StaleImport("the roster or guardians changed after this preview: upload it again")
        if load_school(tx, school.id) is None:
            raise StaleImport(f"school {school.id} is not in the store: import it first (`edge school import`)")
        change = None
        if preview.people is not None:
            change = edits.replace_students(tx, school.id, preview.people, today=today)
        written = None
        if preview.guardian_list is not None:
            written = edits.replace_guardians(tx, school.id, preview.guardian_list)
        version = version_of(tx, school.id)
    return Applied(version, change, written)
