"""Roster and guardians upload (edge/central/roster_import.py): format by content, caps, spreadsheet row numbers
in every error, preview (added / changed / removed) against the store, apply in one transaction of the store
(enrolment dates, the version bumped), nothing written on any error, formulas and HTML kept as data; hypothesis
properties for the readers. The store-backed tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from edge.central.guardians import Guardian
from edge.central.roster_import import (
    MAX_BYTES,
    MAX_ROWS,
    Applied,
    Preview,
    StaleImport,
    UploadError,
    apply_preview,
    make_preview,
    read_table,
)
from edge.central.school.files import import_central
from edge.central.school.state import load_school
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.config.central import SchoolConfig, parse_central_text
from edge.devtools.postgres import PostgresServer
from edge.roster import Person
from tests.helpers import fuzz_examples

CENTRAL = """\
schools:
  - id: s1
    name: School
    calendar: {terms: [{name: T, start: 2026-09-05, end: 2027-05-29}]}
    roster: data/roster.csv
    guardians: data/guardians.csv
    channels: [{name: app, type: mqtt}]
"""
ROSTER = "person_id,name,class,card_uid\nan,Nguyễn An,6A,0F00A1B2C3\nbinh,Trần Bình,6A,\nchi,Lê Chi,7B,\n"
GUARDIANS = "person_id,name,phone,email,channel,language,kinds\nan,Mẹ An,0912 345 678,,app,vi,arrived;absent\n"


IMPORT_DAY = date(2026, 11, 2)
TODAY = date(2026, 11, 24)


class School:
    """The school s1 in a store (imported from ROSTER/GUARDIANS on IMPORT_DAY); previews and applies on TODAY."""

    def __init__(self, cfg: SchoolConfig, db: WebDb) -> None:
        self.cfg, self.db, self.id = cfg, db, cfg.id

    def preview(self, roster: bytes | None = None, guardians: bytes | None = None) -> Preview:
        return make_preview(self.cfg, roster, guardians, current=load_school(self.db, self.id), today=TODAY)

    def apply(self, pv: Preview) -> Applied:
        return apply_preview(self.db, self.cfg, pv, today=TODAY)

    def students(self) -> dict[str, Person]:
        state = load_school(self.db, self.id)
        assert state is not None
        return {p.person_id: p for p in state.enrolled(TODAY)}

    def guardians(self) -> list[Guardian]:
        state = load_school(self.db, self.id)
        assert state is not None
        return list(state.guardians)

    def snapshot(self) -> object:
        state = load_school(self.db, self.id)
        assert state is not None
        return state.version, state.students, state.guardians


@pytest.fixture(params=["sqlite", "postgresql"])
def school(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[School]:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "data" / "guardians.csv").write_text(GUARDIANS, encoding="utf-8")
    cfg = parse_central_text(CENTRAL, env={}, base_dir=tmp_path)
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    else:
        url = f"sqlite:///{tmp_path / 'central.sqlite'}"
    open_store(url).close()
    db = WebDb(url)
    import_central(db, cfg, today=IMPORT_DAY)
    yield School(cfg.schools[0], db)
    db.close()


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_csv_preview_and_apply(school: School) -> None:
    upload = "person_id,name,class,card_uid\nan,Nguyễn Văn An,6A,0f00a1b2c3\nchi,Lê Chi,7A,\ndung,Phạm Dũng,7B,\n"
    pv = school.preview(upload.encode())
    assert pv.ok and not pv.errors and pv.students == 3
    assert pv.roster is not None
    assert [r["person_id"] for r in pv.roster.added] == ["dung"]
    assert [r["person_id"] for r in pv.roster.removed] == ["binh"]
    changes = {c.key: c.fields for c in pv.roster.changed}
    assert changes == {"an": {"name": ("Nguyễn An", "Nguyễn Văn An")}, "chi": {"class": ("7B", "7A")}}
    applied = school.apply(pv)
    people = school.students()
    assert set(people) == {"an", "chi", "dung"} and people["an"].card_uid == "0F00A1B2C3"
    assert people["dung"].enrolled_from == TODAY and people["an"].enrolled_from == IMPORT_DAY
    state = load_school(school.db, school.id)
    assert state is not None and state.version == applied.version
    binh = next(p for p in state.students if p.person_id == "binh")  # left, not deleted: history stays
    assert binh.enrolled_until == date(2026, 11, 23)
    assert applied.roster is not None and applied.roster.left == ["binh"] and applied.roster.added == ["dung"]
    with pytest.raises(StaleImport):  # the same preview again: the school it was made against has changed
        school.apply(pv)


def test_xlsx_with_one_bad_row_shows_its_number_and_writes_nothing(school: School) -> None:
    before = school.snapshot()
    data = xlsx(
        [
            ["person_id", "name", "class", "card_uid"],
            ["an", "Nguyễn An", "6A", "0F00A1B2C3"],
            [None, None, None, None],  # a blank row keeps its number
            ["binh", "Trần Bình", "6A", "NOT-HEX"],
            ["chi", "Lê Chi", "7B", None],
        ]
    )
    pv = school.preview(data)
    assert not pv.ok
    assert [(p.file, p.row) for p in pv.errors] == [("roster", 4)]
    assert "NOT-HEX" in pv.errors[0].message and str(pv.errors[0]).startswith("roster: row 4: card_uid")
    with pytest.raises(ValueError, match="nothing was written"):
        school.apply(pv)
    assert school.snapshot() == before


def test_csv_row_numbers_are_spreadsheet_rows(school: School) -> None:
    # row 2's name holds a line break: the CSV has an extra line, the spreadsheet does not
    upload = 'person_id,name,class\nan,"Nguyễn\nAn",6A\nan,Dup,6A\n,,6A\n'
    pv = school.preview(upload.encode())
    assert [(p.row, p.message) for p in pv.errors] == [
        (3, "duplicate person_id 'an' (first on row 2)"),
        (4, "person_id and name are required"),
    ]


def test_formulas_and_html_are_kept_as_data(school: School) -> None:
    data = xlsx(
        [
            ["person_id", "name", "class"],
            ["an", '=HYPERLINK("http://evil","click")', "6A"],
            ["chi", "<script>alert(1)</script>", "7B"],
        ]
    )
    table = read_table(data)
    assert table.fmt == "xlsx" and table.rows[0] == (2, ["an", '=HYPERLINK("http://evil","click")', "6A"])
    pv = school.preview(data, None)
    assert pv.ok, pv.errors  # binh (removed) has no guardian; an keeps hers
    school.apply(pv)
    names = {p.person_id: p.name for p in school.students().values()}
    assert names == {"an": '=HYPERLINK("http://evil","click")', "chi": "<script>alert(1)</script>"}


def test_guardians_checked_against_the_roster_in_force(school: School) -> None:
    before = school.snapshot()
    new_roster = b"person_id,name,class\nbinh,B,6A\n"  # drops 'an', who has a guardian
    pv = school.preview(new_roster)
    assert not pv.ok and pv.errors[0].file == "guardians" and "'an'" in pv.errors[0].message
    guardians = (
        "person_id,name,phone,email,channel,language,kinds\n"
        "binh,Bố Bình,0912 345 679,,app,vi,\n"
        "zed,Nobody,,,app,vi,\n"
        "binh,X,,,fax,xx,\n"
    )
    pv = school.preview(new_roster, guardians.encode())
    assert [(p.file, p.row) for p in pv.errors] == [("guardians", 3), ("guardians", 4), ("guardians", 4)]
    assert "not in the roster" in pv.errors[0].message
    assert school.snapshot() == before
    ok = school.preview(new_roster, guardians.encode().rsplit(b"zed", 1)[0])
    assert ok.ok and ok.guardians is not None
    assert [g["guardian_id"] for g in ok.guardians.added] == ["binh-g1"]
    assert [g["guardian_id"] for g in ok.guardians.removed] == ["an-g1"]
    school.apply(ok)
    assert [g.phone for g in school.guardians()] == ["+84912345679"]


def test_guardians_xlsx_phone_typed_as_a_number(school: School) -> None:
    data = xlsx([["person_id", "name", "phone", "channel"], ["an", "Mẹ", 912345678, "app"]])
    pv = school.preview(None, data)
    assert pv.ok and pv.guardians is not None
    assert pv.guardians.changed[0].fields["name"] == ("Mẹ An", "Mẹ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"x" * (MAX_BYTES + 1), "limit is 2,097,152"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, r"old Excel \.xls"),
        (b"\x7fELF\x02\x01\x01\x00\x00", "binary file"),
        ("person_id,name,class\nan,Nguy\u1ec5n,6A\n".encode("utf-16"), "binary file"),
        ("person_id,name,class\nan,Andr\xe9,6A\n".encode("latin-1"), r"not UTF-8 text \(byte 0xe9"),
        (b"", "empty"),
        (b"PK\x03\x04garbage", "damaged zip"),
        ("person_id,name,class\n" + "an,A,6A\n" * (MAX_ROWS + 1), f"more than {MAX_ROWS:,} rows"),
        ("person_id,name,class\nan," + "A" * 20_000 + ",6A\n", "row 2: a cell of 20,000 characters"),
        (
            'person_id,name,class\nan,"' + "A" * 200_000 + ",6A\n",
            r"not valid CSV \(field larger than field limit",
        ),
    ],
)
def test_unreadable_uploads_are_clear_errors(school: School, data: bytes | str, message: str) -> None:
    before = school.snapshot()
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(UploadError, match="roster: .*" + message):
        school.preview(raw)
    assert school.snapshot() == before


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def test_zips_that_are_not_workbooks(school: School) -> None:
    with pytest.raises(UploadError, match="a zip file, not a spreadsheet"):
        school.preview(_zip({"a.txt": b"hello"}))
    with pytest.raises(UploadError, match="OpenDocument"):
        school.preview(_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}))
    bomb = _zip({"[Content_Types].xml": b"<x/>", "xl/big.xml": b"\x00" * (80 * 1024 * 1024)})
    assert len(bomb) < MAX_BYTES
    with pytest.raises(UploadError, match="unzips to"):
        school.preview(bomb)
    with pytest.raises(UploadError, match="not a readable XLSX"):
        school.preview(_zip({"[Content_Types].xml": b"<not xml"}))


def test_no_upload(school: School) -> None:
    with pytest.raises(UploadError, match="choose"):
        school.preview()


# ------------------------------------------------------------------------------------------ properties

_name = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40).filter(
    lambda s: s.strip() == s and s != "" and not ILLEGAL_CHARACTERS_RE.search(s)
)
_cls = st.sampled_from(["6A", "7B", "=1+1", "<b>9</b>", "Lớp 10"])


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash_the_reader(data: bytes) -> None:
    try:
        table = read_table(data)
    except UploadError:
        return
    assert table.fmt == "csv" and all(n >= 2 for n, _ in table.rows)


@settings(max_examples=fuzz_examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.tuples(_name, _cls), min_size=1, max_size=15), as_xlsx=st.booleans())
def test_any_names_survive_upload_and_apply_exactly(
    school: School, names: list[tuple[str, str]], as_xlsx: bool
) -> None:
    rows = [[f"p{i}", n, c] for i, (n, c) in enumerate(names)]
    if as_xlsx:
        data = xlsx([["person_id", "name", "class"], *rows])
    else:
        buf = io.StringIO()
        csv.writer(buf).writerows([["person_id", "name", "class"], *rows])
        data = buf.getvalue().encode()
    guardians = b"person_id,name,phone,email,channel,language,kinds\n"
    pv = school.preview(data, guardians)
    assert pv.ok, pv.errors
    school.apply(pv)
    if as_xlsx:  # XML turns a CR into LF (the XLSX format, not us: Excel writes _x000D_ for a kept CR)
        rows = [[pid, n.replace("\r\n", "\n").replace("\r", "\n"), c] for pid, n, c in rows]
    got = sorted((p.person_id, p.name, p.class_name) for p in school.students().values())
    assert got == sorted(tuple(r) for r in rows)


@settings(max_examples=fuzz_examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sets(st.integers(min_value=0, max_value=29), min_size=1, max_size=5))
def test_bad_rows_are_reported_at_their_rows(school: School, bad: set[int]) -> None:
    before = school.snapshot()
    rows: list[list[object]] = [["person_id", "name", "class", "card_uid"]]
    for i in range(30):
        rows.append([f"p{i}", f'Name\n{i}, "q"', "6A", "ZZ" if i in bad else None])
    pv = school.preview(xlsx(rows))
    assert sorted(p.row for p in pv.errors if p.row is not None) == sorted(i + 2 for i in bad)
    assert school.snapshot() == before
