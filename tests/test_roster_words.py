"""The roster in the office's words (#23 item 2), without a store: Vietnamese/English header synonyms (case and
diacritics ignored), the warnings for values Excel mangles (with their spreadsheet rows), every rule message
said in Vietnamese, and the template/export workbooks (Text card column, register order, read back unchanged)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from edge.central import catalogs
from edge.central.guardians import GuardiansError, parse_guardians
from edge.central.roster_columns import HEADERS, ROSTER_SYNONYMS, canonical_header, fold
from edge.central.roster_export import roster_csv, roster_xlsx, template_xlsx
from edge.central.roster_import import UploadError, make_preview, read_table
from edge.central.roster_messages import COLUMN_LISTS, PATTERNS, key_of, localise, say, to_vietnamese
from edge.config.central import SchoolConfig
from edge.roster import Person

SCHOOL = SchoolConfig(id="s1", name="Trường Thử")


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Mã HS", "person_id"),
        ("MÃ HỌC SINH", "person_id"),
        ("ma hoc sinh", "person_id"),
        ("Họ và tên", "name"),
        ("HO_VA_TEN", "name"),
        ("  Lớp ", "class"),
        ("Mã thẻ", "card_uid"),
        ("Số thẻ", "card_uid"),
        ("so the", "card_uid"),
        ("Ngày nhập học", "enrolled_from"),
        ("Card UID", "card_uid"),
        ("person_id", "person_id"),
    ],
)
def test_header_synonyms_ignore_case_diacritics_and_separators(typed: str, canonical: str) -> None:
    assert canonical_header([typed], "roster") == [canonical]


def test_an_unknown_header_is_kept_so_the_rule_names_it() -> None:
    assert canonical_header(["Mã HS", "Ghi chú"], "roster") == ["person_id", "Ghi chú"]
    pv = make_preview(SCHOOL, "Mã HS,Họ và tên,Lớp,Ghi chú\nan,An,6A,x\n".encode())
    assert len(pv.errors) == 1 and "Ghi chú" in pv.errors[0].message
    assert to_vietnamese(pv.errors[0].message) is not None


def test_synonyms_do_not_collide() -> None:
    seen: dict[str, str] = {}
    for canonical, names in ROSTER_SYNONYMS.items():
        for n in names:
            assert seen.setdefault(fold(n), canonical) == canonical, n
    assert fold("Đ") == "d" and fold("Mã  H.S") == "mahs"


def test_vietnamese_workbook_is_read_like_the_canonical_one() -> None:
    rows: list[list[object]] = [
        ["Mã HS", "Họ và tên", "Lớp", "Mã thẻ", "Ngày nhập học"],
        ["an", "Nguyễn Văn An", "6A", "0F00A1B2C3", None],
    ]
    pv = make_preview(SCHOOL, xlsx(rows))
    assert pv.ok, pv.errors
    assert pv.people == [Person("an", "Nguyễn Văn An", "6A", "0F00A1B2C3")]


def test_card_typed_as_a_number_is_warned_with_its_row() -> None:
    rows: list[list[object]] = [["Mã học sinh", "Họ và tên", "Lớp", "Mã thẻ"]]
    rows += [[f"p{i}", f"Học sinh {i}", "6A", f"00{i:08d}"] for i in range(4)]
    rows.append(["p9", "Lê Chín", "6A", 12345678])  # row 6: 0012345678 became a number in Excel
    pv = make_preview(SCHOOL, xlsx(rows))
    assert pv.ok  # a valid 4-byte UID: the rules cannot refuse it, hence the warning
    assert [(w.row, w.file) for w in pv.warnings] == [(6, "roster")]
    assert "'12345678' was a number" in pv.warnings[0].message
    vi = localise(pv.warnings[0].message, "vi")
    assert "Excel bỏ các số 0 ở đầu" in vi and "12345678" in vi


def test_csv_card_shorter_than_the_others_and_scientific_notation() -> None:
    text = "person_id,name,class,card_uid\n" + "".join(f"p{i},N {i},6A,00{i:08d}\n" for i in range(3))
    text += "p7,N 7,6A,12345678\np8,1.23457E+11,6A,\n"
    pv = make_preview(SCHOOL, text.encode())
    got = [(w.row, w.message.split(" ")[0]) for w in pv.warnings]
    assert got == [(5, "card_uid"), (6, "name")]
    assert "shorter than the other cards (10 characters)" in pv.warnings[0].message
    assert "scientific notation" in pv.warnings[1].message


def test_dates_excel_changed_are_warned_and_real_date_cells_are_read() -> None:
    rows: list[list[object]] = [["Mã HS", "Họ và tên", "Lớp", "Ngày nhập học", "Ngày thôi học"]]
    rows.append(["a", "A", "6A", datetime(2026, 9, 5), None])  # a real date cell: read as 2026-09-05
    rows.append(["b", "B", "6A", 46270, None])  # row 3: a date serial
    rows.append(["c", "C", "6A", "05/09/2026", None])  # row 4: the computer's local format
    pv = make_preview(SCHOOL, xlsx(rows))
    assert [w.row for w in pv.warnings] == [3, 4]
    assert "date serial number" in pv.warnings[0].message and "another format" in pv.warnings[1].message
    assert [p.row for p in pv.errors] == [3, 4]  # and the rule refuses both: nothing half-read
    ok = make_preview(SCHOOL, xlsx(rows[:2]))
    assert ok.people is not None and ok.people[0].enrolled_from == date(2026, 9, 5)


def _rule_messages() -> list[str]:
    """Messages the real rules produce for bad uploads (not copies of them)."""
    out: list[str] = []
    uploads = [
        b"person_id,name,Foo\nan,An,x\n",
        b"person_id,name,class,card_uid\nan,An,6A,XYZ\nan,An,6A,\n,,6A\n",
        b"person_id,name,class,card_uid\na,A,6A,0F00A1B2C3\nb,B,6A,0F00A1B2C3\n",
        b"person_id,name,class,enrolled_from,enrolled_until\na,A,6A,05/09/2026,\nb,B,6A,2026-09-05,2026-09-01\n",
        b"person_id,name,class\na,A,6A,extra\n",
        "person_id,name,class\na,A\u0007,6A\n".encode(),
    ]
    for data in uploads:
        out += [p.message for p in make_preview(SCHOOL, data).errors]
    for data in (b"", b"\xd0\xcf\x11\xe0", b"PK\x03\x04junk", b"a,\xff\n", b"\x00\x01"):
        with pytest.raises(UploadError) as exc:
            read_table(data)
        out.append(str(exc.value))
    guardian_files = [
        "person_id,name,phone\n",
        "person_id,name,phone,email,channel,language,kinds\nzz,,12,,hook,vi,absent\nan,B,,,hook,vi,absent,x\n",
    ]
    for text in guardian_files:
        with pytest.raises(GuardiansError) as gexc:
            parse_guardians(text, channels={"hook": "webhook"}, people={"an"})
        out += [m.split(": ", 1)[1] for m in gexc.value.problems]
    return out


def test_every_rule_message_has_vietnamese() -> None:
    messages = _rule_messages()
    assert len(messages) >= 15
    missing = [m for m in messages if to_vietnamese(m) is None]
    assert not missing, missing
    said = [re.sub(r"\([^)]*\)", "", to_vietnamese(m) or "") for m in messages]  # (a library's detail) may stay
    english = [v for v in said if any(w in v for w in (" missing ", " unknown ", " is ", " not "))]
    assert not english, english
    assert all(say(m, "en") for m in messages), "the English is the catalog's too"
    assert localise("a sentence no rule says", "vi") == "a sentence no rule says"


def test_every_pattern_names_a_message_of_both_catalogs_with_its_fields() -> None:
    field = re.compile(r"{(\w+)}")
    for pattern, name in PATTERNS:
        groups = set(re.compile(pattern).groupindex)
        for lang in catalogs.LANGUAGES:
            words = catalogs.text(lang, key_of(name))
            assert words != key_of(name), (lang, name)
            assert set(field.findall(words)) <= groups, (lang, name)
    for group in COLUMN_LISTS:
        assert "{columns}" in catalogs.text("vi", key_of(f"{group}_columns"))


def test_columns_are_named_in_the_language_of_the_page() -> None:
    header = "header must be person_id,name,class[,card_uid][,photos][,enrolled_from][,enrolled_until]"
    said = say(f"roster: {header}; missing ['class']; unknown ['Ghi chú']", "vi")
    assert said is not None and said.startswith("danh sách học sinh: dòng tiêu đề phải có")
    assert said.endswith("; thiếu: Lớp; cột không nhận ra: Ghi chú"), said
    english = say(f"{header}; missing ['class']", "en")
    assert english is not None and english.endswith("; missing: Class"), english


def test_template_has_a_text_card_column_and_reads_back() -> None:
    for lang in ("vi", "en"):
        data = template_xlsx(lang)
        ws = load_workbook(io.BytesIO(data)).active
        assert ws is not None
        assert [c.value for c in ws[1]] == [HEADERS[lang][f] for f in HEADERS[lang]]
        card = ws.cell(row=2, column=4)
        assert card.value == "0012345678" and card.number_format == "@" and card.data_type == "s"
        pv = make_preview(SCHOOL, data)
        assert pv.ok and pv.people is not None and pv.people[0].card_uid == "0012345678" and not pv.warnings


def test_export_is_in_register_order_and_reads_back_unchanged() -> None:
    people = [
        Person("v", "Vũ Văn Vinh", "6A", "00AA000001"),
        Person("d", "Đặng Thị Dung", "6A", "00AA000002"),
        Person("a", "Nguyễn An", "6B", None, (), date(2026, 9, 5)),
        Person("b", "Lê Văn Bình", "6A", None),
    ]
    for data in (roster_xlsx(people, "vi"), roster_csv(people, "vi"), roster_csv(people, "en")):
        pv = make_preview(SCHOOL, data)
        assert pv.ok and pv.people is not None, pv.errors
        # 6A by given name (Bình, Dung, Vinh: Đ sorts as D-with-stroke after D, by the given name first), then 6B
        assert [p.person_id for p in pv.people] == ["b", "d", "v", "a"]
        assert {p.person_id: p for p in pv.people} == {p.person_id: p for p in people}
    assert roster_csv(people, "vi").startswith("\ufeffMã học sinh,Họ và tên,Lớp,Mã thẻ".encode())


def test_readme_lists_the_roster_synonyms() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for canonical, names in ROSTER_SYNONYMS.items():
        assert f"| `{canonical}` | {' · '.join(names[1:])} |" in readme, canonical


def test_the_office_roster_bench_runs() -> None:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "edge.bench.roster_office", "--students", "120", "--runs", "1"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(out.stdout)
    assert figures["students"] == 120 and figures["export_xlsx_ms"]["n"] == 1
