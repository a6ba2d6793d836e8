"""Control characters (C0, C1, DEL, U+2028/2029, bidi overrides and isolates) are refused in every field of every
import, with the row they are on: the gateway's roster CSV (edge/roster.py), the centre's guardians CSV
(edge/central/guardians.py) and the web upload of both, CSV and XLSX (edge/central/roster_import.py). Such a
name once reached a parent notice's Subject header, where the e-mail package raised and the notifier stopped."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from edge.central.guardians import GuardiansError, parse_guardians
from edge.central.roster_import import make_preview
from edge.config.central import SchoolConfig, parse_central_text
from edge.roster import RosterError, read_roster_csv
from tests.helpers import fuzz_examples

POISON = [
    "Eve\r\nBcc: attacker@evil.example",
    "Eve\u2028Bcc: attacker@evil.example",
    "Eve\u2029x",
    "Eve\x85x",  # NEL (C1)
    "Eve\x1bx",  # ESC (C0)
    "Eve\x7fx",  # DEL
    "\u202eevE",  # RIGHT-TO-LEFT OVERRIDE
    "Eve\u2066x\u2069",  # LEFT-TO-RIGHT ISOLATE … POP DIRECTIONAL ISOLATE
    "Eve\tx",
]
FORBIDDEN = st.sampled_from(
    [chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F),
                      *range(0x2066, 0x206A))]
)  # fmt: skip
CLEAN = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs")), max_size=12)
CENTRAL = """\
schools:
  - id: s1
    name: School
    calendar: {terms: [{name: T, start: 2026-09-05, end: 2027-05-29}]}
    roster: data/roster.csv
    guardians: data/guardians.csv
    channels: [{name: app, type: mqtt}, {name: mail, type: email, host: 127.0.0.1, sender: a@school.example}]
"""
ROSTER = "person_id,name,class,card_uid\nan,Nguyễn An,6A,0F00A1B2C3\nbinh,Trần Bình,6A,\n"
GUARDIANS = "person_id,name,phone,email,channel,language,kinds\nan,Mẹ An,0912 345 678,,app,vi,arrived;absent\n"


@pytest.fixture
def school(tmp_path: Path) -> SchoolConfig:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "data" / "guardians.csv").write_text(GUARDIANS, encoding="utf-8")
    return parse_central_text(CENTRAL, env={}, base_dir=tmp_path).schools[0]


def as_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode()


def as_xlsx(rows: list[list[str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name", POISON)
def test_gateway_roster_csv_refuses_the_row(tmp_path: Path, name: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(as_csv([["person_id", "name", "class"], ["an", "An", "6A"], ["eve", name, "6A"]]))
    with pytest.raises(RosterError) as err:
        read_roster_csv(path)
    (problem,) = err.value.problems
    assert "name holds a control character (U+" in problem
    # the record ends on the last physical line of the row (a CSV line break inside the quoted name)
    assert problem.startswith(f"line {3 + name.count(chr(10))}:")


@pytest.mark.parametrize("field", ["person_id", "name", "phone", "email", "channel", "language", "kinds"])
def test_guardians_refuse_every_field(field: str) -> None:
    row = {"person_id": "an", "name": "Mẹ An", "phone": "0912 345 678", "email": "me@example.com",
           "channel": "app", "language": "vi", "kinds": "arrived"}  # fmt: skip
    row[field] = row[field][:2] + "\u2028" + row[field][2:]
    text = as_csv([list(row), ["an", "Bố An", "", "", "app", "en", "absent"], list(row.values())]).decode()
    with pytest.raises(GuardiansError) as err:
        parse_guardians(text, channels={"app": "mqtt"}, people={"an"})
    assert err.value.problems == [
        f"line 3: {field} holds a control character (U+2028 LINE SEPARATOR) at position 3: remove it and upload again"
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_web_upload_reports_each_poisoned_row(school: SchoolConfig, fmt: str) -> None:
    rows = [
        ["person_id", "name", "class", "card_uid"],
        ["an", "Nguyễn An", "6A", "0F00A1B2C3"],
        ["eve", "Eve\nBcc: attacker@evil.example", "6A", ""],
        ["chi", "Lê Chi", "7B\u2028", ""],
        ["dung", "\u202eDũng", "7B", ""],
        ["em", "Em", "7B", ""],
    ]
    before = Path(str(school.roster)).read_bytes()
    pv = make_preview(school, (as_csv if fmt == "csv" else as_xlsx)(rows), None)
    assert not pv.ok and pv.roster_text is None
    assert [(p.row, p.message.split(" (")[0]) for p in pv.errors] == [
        (3, "name holds a control character"),
        (4, "class holds a control character"),
        (5, "name holds a control character"),
    ]
    assert Path(str(school.roster)).read_bytes() == before


def test_web_upload_of_guardians(school: SchoolConfig) -> None:
    rows = [
        ["person_id", "name", "phone", "email", "channel", "language", "kinds"],
        ["an", "Mẹ An", "0912 345 678", "", "app", "vi", "arrived"],
        ["binh", "Bố Bình", "", "bo\x9bbinh@example.com", "mail", "vi", "arrived"],
    ]
    students = [["person_id", "name", "class"], ["an", "An", "6A"], ["binh", "Bình", "6A"]]
    pv = make_preview(school, as_csv(students), as_xlsx(rows))  # guardians are checked against the roster in force
    assert [(p.file, p.row) for p in pv.errors] == [("guardians", 3)]
    assert "email holds a control character (U+009B)" in pv.errors[0].message


@settings(max_examples=fuzz_examples(80), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    column=st.sampled_from(["person_id", "name", "class", "card_uid"]),
    row=st.integers(min_value=0, max_value=9),
    before=CLEAN,
    bad=FORBIDDEN.filter(lambda c: c != "\x00"),  # a NUL makes the whole upload "a binary file" (test_roster_import)
    after=CLEAN,
)
def test_any_forbidden_character_in_any_roster_field_is_refused_at_its_row(
    school: SchoolConfig, column: str, row: int, before: str, bad: str, after: str
) -> None:
    header = ["person_id", "name", "class", "card_uid"]
    rows = [[f"p{i}", f"Học sinh {i}", "6A", ""] for i in range(10)]
    rows[row][header.index(column)] = f"x{before}{bad}{after}x"
    pv = make_preview(school, as_csv([header, *rows]), None)
    assert not pv.ok
    assert [p.row for p in pv.errors] == [row + 2]
    assert pv.errors[0].message.startswith(f"{column} holds a control character (U+{ord(bad):04X}")
