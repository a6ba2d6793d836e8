"""Roster and guardians upload (edge/central/roster_import.py): format by content, caps, spreadsheet row numbers
in every error, preview (added / changed / removed), atomic apply with a backup, nothing written on any error,
formulas and HTML kept as data; hypothesis properties for the readers."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from edge.central.guardians import read_guardians
from edge.central.roster_import import (
    MAX_BYTES,
    MAX_ROWS,
    StaleImport,
    UploadError,
    apply_preview,
    make_preview,
    read_table,
)
from edge.config.central import SchoolConfig, parse_central_text
from edge.control_chars import BIDI
from edge.roster import read_roster_csv
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


@pytest.fixture
def school(tmp_path: Path) -> SchoolConfig:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "data" / "guardians.csv").write_text(GUARDIANS, encoding="utf-8")
    return parse_central_text(CENTRAL, env={}, base_dir=tmp_path).schools[0]


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def snapshot(school: SchoolConfig) -> tuple[bytes, bytes]:
    assert school.roster and school.guardians
    return Path(school.roster).read_bytes(), Path(school.guardians).read_bytes()


def test_csv_preview_and_apply(school: SchoolConfig) -> None:
    upload = "person_id,name,class,card_uid\nan,Nguyễn Văn An,6A,0f00a1b2c3\nchi,Lê Chi,7A,\ndung,Phạm Dũng,7B,\n"
    pv = make_preview(school, upload.encode())
    assert pv.ok and not pv.errors and pv.students == 3
    assert pv.roster is not None
    assert [r["person_id"] for r in pv.roster.added] == ["dung"]
    assert [r["person_id"] for r in pv.roster.removed] == ["binh"]
    changes = {c.key: c.fields for c in pv.roster.changed}
    assert changes == {"an": {"name": ("Nguyễn An", "Nguyễn Văn An")}, "chi": {"class": ("7B", "7A")}}
    applied = apply_preview(school, pv)
    assert school.roster is not None
    people = {p.person_id: p for p in read_roster_csv(school.roster)}
    assert set(people) == {"an", "chi", "dung"} and people["an"].card_uid == "0F00A1B2C3"
    assert len(applied.backups) == 1 and applied.backups[0].read_text(encoding="utf-8") == ROSTER
    assert applied.backups[0].parent.name == "backups"
    assert not list(Path(school.roster).parent.glob(".*.tmp"))
    with pytest.raises(StaleImport):  # the same preview again: the files it was made against are gone
        apply_preview(school, pv)


def test_xlsx_with_one_bad_row_shows_its_number_and_writes_nothing(school: SchoolConfig) -> None:
    before = snapshot(school)
    data = xlsx(
        [
            ["person_id", "name", "class", "card_uid"],
            ["an", "Nguyễn An", "6A", "0F00A1B2C3"],
            [None, None, None, None],  # a blank row keeps its number
            ["binh", "Trần Bình", "6A", "NOT-HEX"],
            ["chi", "Lê Chi", "7B", None],
        ]
    )
    pv = make_preview(school, data)
    assert not pv.ok
    assert [(p.file, p.row) for p in pv.errors] == [("roster", 4)]
    assert "NOT-HEX" in pv.errors[0].message and str(pv.errors[0]).startswith("roster: row 4: card_uid")
    with pytest.raises(ValueError, match="nothing was written"):
        apply_preview(school, pv)
    assert snapshot(school) == before


def test_csv_row_numbers_are_spreadsheet_rows(school: SchoolConfig) -> None:
    # row 2's name holds a line break: the CSV has an extra line, the spreadsheet does not
    upload = 'person_id,name,class\nan,"Nguyễn\nAn",6A\nbinh,B,6A\nbinh,Dup,6A\n,,6A\n'
    pv = make_preview(school, upload.encode())
    assert [(p.row, p.message) for p in pv.errors] == [
        (2, "name holds a control character (U+000A) at position 7: remove it and upload again"),
        (4, "duplicate person_id 'binh' (first on row 3)"),
        (5, "person_id and name are required"),
    ]


def test_formulas_and_html_are_kept_as_data(school: SchoolConfig) -> None:
    data = xlsx(
        [
            ["person_id", "name", "class"],
            ["an", '=HYPERLINK("http://evil","click")', "6A"],
            ["chi", "<script>alert(1)</script>", "7B"],
        ]
    )
    table = read_table(data)
    assert table.fmt == "xlsx" and table.rows[0] == (2, ["an", '=HYPERLINK("http://evil","click")', "6A"])
    pv = make_preview(school, data, None)
    assert pv.ok, pv.errors  # binh (removed) has no guardian; an keeps hers
    apply_preview(school, pv)
    assert school.roster is not None
    names = {p.person_id: p.name for p in read_roster_csv(school.roster)}
    assert names == {"an": '=HYPERLINK("http://evil","click")', "chi": "<script>alert(1)</script>"}


def test_guardians_checked_against_the_roster_in_force(school: SchoolConfig) -> None:
    before = snapshot(school)
    new_roster = b"person_id,name,class\nbinh,B,6A\n"  # drops 'an', who has a guardian
    pv = make_preview(school, new_roster)
    assert not pv.ok and pv.errors[0].file == "guardians" and "'an'" in pv.errors[0].message
    guardians = (
        "person_id,name,phone,email,channel,language,kinds\n"
        "binh,Bố Bình,0912 345 679,,app,vi,\n"
        "zed,Nobody,,,app,vi,\n"
        "binh,X,,,fax,xx,\n"
    )
    pv = make_preview(school, new_roster, guardians.encode())
    assert [(p.file, p.row) for p in pv.errors] == [("guardians", 3), ("guardians", 4), ("guardians", 4)]
    assert "not in the roster" in pv.errors[0].message
    assert snapshot(school) == before
    ok = make_preview(school, new_roster, guardians.encode().rsplit(b"zed", 1)[0])
    assert ok.ok and ok.guardians is not None
    assert [g["guardian_id"] for g in ok.guardians.added] == ["binh-g1"]
    assert [g["guardian_id"] for g in ok.guardians.removed] == ["an-g1"]
    apply_preview(school, ok)
    assert school.guardians is not None
    assert [g.phone for g in read_guardians(school.guardians, channels={"app": "mqtt"}, people={"binh"})] == [
        "+84912345679"
    ]


def test_guardians_xlsx_phone_typed_as_a_number(school: SchoolConfig) -> None:
    data = xlsx([["person_id", "name", "phone", "channel"], ["an", "Mẹ", 912345678, "app"]])
    pv = make_preview(school, None, data)
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
def test_unreadable_uploads_are_clear_errors(school: SchoolConfig, data: bytes | str, message: str) -> None:
    before = snapshot(school)
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(UploadError, match="roster: .*" + message):
        make_preview(school, raw)
    assert snapshot(school) == before


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def test_zips_that_are_not_workbooks(school: SchoolConfig) -> None:
    with pytest.raises(UploadError, match="a zip file, not a spreadsheet"):
        make_preview(school, _zip({"a.txt": b"hello"}))
    with pytest.raises(UploadError, match="OpenDocument"):
        make_preview(school, _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}))
    bomb = _zip({"[Content_Types].xml": b"<x/>", "xl/big.xml": b"\x00" * (80 * 1024 * 1024)})
    assert len(bomb) < MAX_BYTES
    with pytest.raises(UploadError, match="unzips to"):
        make_preview(school, bomb)
    with pytest.raises(UploadError, match="not a readable XLSX"):
        make_preview(school, _zip({"[Content_Types].xml": b"<not xml"}))


def test_no_upload_or_no_configured_file(tmp_path: Path) -> None:
    text = CENTRAL.replace("    roster: data/roster.csv\n", "").replace("    guardians: data/guardians.csv\n", "")
    bare = parse_central_text(text, env={}, base_dir=tmp_path).schools[0]
    with pytest.raises(UploadError, match="choose"):
        make_preview(bare)
    with pytest.raises(UploadError, match=r"no roster file in central\.yaml"):
        make_preview(bare, b"person_id,name,class\n")


def test_a_new_file_is_created_private(tmp_path: Path) -> None:
    school = parse_central_text(CENTRAL, env={}, base_dir=tmp_path).schools[0]
    (tmp_path / "data").mkdir()
    pv = make_preview(school, b"person_id,name,class\nan,A,6A\n")
    applied = apply_preview(school, pv)
    assert applied.backups == [] and (Path(school.roster or "").stat().st_mode & 0o777) == 0o600


# ------------------------------------------------------------------------------------------ properties

_name = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters=BIDI),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and s != "" and not ILLEGAL_CHARACTERS_RE.search(s))  # controls: test_control_chars
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
    school: SchoolConfig, names: list[tuple[str, str]], as_xlsx: bool
) -> None:
    rows = [[f"p{i}", n, c] for i, (n, c) in enumerate(names)]
    if as_xlsx:
        data = xlsx([["person_id", "name", "class"], *rows])
    else:
        buf = io.StringIO()
        csv.writer(buf).writerows([["person_id", "name", "class"], *rows])
        data = buf.getvalue().encode()
    guardians = b"person_id,name,phone,email,channel,language,kinds\n"
    pv = make_preview(school, data, guardians)
    assert pv.ok, pv.errors
    apply_preview(school, pv)
    assert school.roster is not None
    assert [(p.person_id, p.name, p.class_name) for p in read_roster_csv(school.roster)] == [tuple(r) for r in rows]


@settings(max_examples=fuzz_examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sets(st.integers(min_value=0, max_value=29), min_size=1, max_size=5))
def test_bad_rows_are_reported_at_their_rows(school: SchoolConfig, bad: set[int]) -> None:
    before = snapshot(school)
    rows: list[list[object]] = [["person_id", "name", "class", "card_uid"]]
    for i in range(30):
        rows.append([f"p{i}", f'Name {i}, "q"', "6A", "ZZ" if i in bad else None])
    pv = make_preview(school, xlsx(rows))
    assert sorted(p.row for p in pv.errors if p.row is not None) == sorted(i + 2 for i in bad)
    assert snapshot(school) == before
