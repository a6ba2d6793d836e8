"""Attendance over a range (THE rule per student per day, one store query), the monthly summary, and the three
downloads (CSV, XLSX, Ed-Fi JSON) opened the way their users open them — on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from edge.central.attendance import edfi
from edge.central.attendance.calendar import SchoolCalendar
from edge.central.attendance.downloads import csv_download, edfi_download, filename, xlsx_download
from edge.central.attendance.labels import Words
from edge.central.attendance.rule import Status
from edge.central.attendance.summary import RangeError, attendance_range
from edge.central.store import CheckinStore, open_store
from edge.config.central import parse_central_text
from edge.contract.checkin import CheckIn, new_event_id
from edge.devtools.postgres import PostgresServer
from edge.roster import Person

CENTRAL = """\
schools:
  - id: s1
    name: Trường A
    timezone: Asia/Ho_Chi_Minh
    calendar:
      terms: [{name: HK1, start: 2026-09-05, end: 2027-01-16}]
      holidays: [{name: Holiday, start: 2026-11-20}]
      cutoff: "07:15"
      dismissal: "16:30"
"""
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROSTER = [
    Person("an", "Nguyễn An", "6A", None),
    Person("binh", '=HYPERLINK("http://x")', "6A", None),
    Person("chi", "Trần <b>Chi</b>", "6A", None),
    Person("dung", "Lê Dũng", "7B", None),
]
MON, TUE, WED, THU, FRI = (date(2026, 11, d) for d in (16, 17, 18, 19, 20))  # Fri 20th is a holiday


def tap(
    store: CheckinStore, pid: str | None, day: date, hhmm: str, direction: Literal["in", "out"] = "in", **kw: Any
) -> None:
    h, m = map(int, hhmm.split(":"))
    at = datetime.combine(day, time(h, m, 30), tzinfo=TZ).astimezone(UTC)
    decision = kw.pop("decision", "granted")
    e = CheckIn(
        new_event_id(),
        kw.pop("site", "s1"),
        "gw-1",
        "main",
        direction,
        at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        1,
        kw.pop("method", "card"),
        pid,
        decision,
    ).to_dict()
    assert store.insert(e) == "stored"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CheckinStore]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'c.sqlite'}")
    else:
        pg: PostgresServer = request.getfixturevalue("postgres")
        s = open_store(pg.fresh_database())
    yield s
    s.close()


@pytest.fixture
def cal() -> SchoolCalendar:
    return SchoolCalendar.of(parse_central_text(CENTRAL, env={}).schools[0])


@pytest.fixture
def week(store: CheckinStore) -> CheckinStore:
    """an: on time every day, leaves early on Tuesday; binh: late Monday, absent Tuesday (excused), absent
    Wednesday; chi: only a denied card and a tap at another school; dung (7B): on time Monday."""
    for d in (MON, TUE, WED, THU):
        tap(store, "an", d, "07:10", method="face")
        tap(store, "an", d, "14:00" if d == TUE else "16:40", "out")
    tap(store, "binh", MON, "07:16")
    tap(store, "binh", THU, "07:15")  # 07:15:30 is the cut-off minute: on time
    tap(store, None, MON, "07:00", decision="denied")
    tap(store, "chi", MON, "07:00", decision="denied")
    tap(store, "chi", TUE, "07:00", site="other-school")
    tap(store, "dung", MON, "07:05")
    tap(store, "an", FRI, "07:05")  # a holiday: not a school day, not counted
    return store


def test_range_statuses_follow_the_rule(week: CheckinStore, cal: SchoolCalendar) -> None:
    rep = attendance_range(week, cal, ROSTER, MON, FRI, classes=["6A"], excused={("binh", TUE)}, site_id="s1")
    assert rep.days == [MON, TUE, WED, THU]
    # register order by given name: "<b>Chi</b>", "=HYPERLINK(…)" (punctuation before letters, as CLDR), "An"
    assert [p.person_id for p in rep.students] == ["chi", "binh", "an"]
    status = {pid: [str(r.status) for r in recs] for pid, recs in rep.records.items()}
    assert status == {
        "an": ["present"] * 4,
        "binh": ["late", "excused", "absent", "present"],
        "chi": ["absent"] * 4,
    }
    an_tue = rep.records["an"][1]
    assert an_tue.early_departure and an_tue.last_out is not None and an_tue.last_out.hour == 14
    assert an_tue.first_in == datetime(2026, 11, 17, 7, 10, 30, tzinfo=TZ) and an_tue.method == "face"
    assert not rep.records["an"][0].early_departure
    s = {x.person.person_id: x.as_row() for x in rep.summaries()}
    assert (s["an"]["present"], s["an"]["early_departures"], s["an"]["attendance_rate"]) == (4, 1, 1.0)
    assert (s["binh"]["present"], s["binh"]["late"], s["binh"]["excused"], s["binh"]["absent"]) == (1, 1, 1, 1)
    assert s["binh"]["attendance_rate"] == 0.5 and s["chi"]["absent"] == 4


def test_excused_callable_pending_and_other_site(week: CheckinStore, cal: SchoolCalendar) -> None:
    now = datetime(2026, 11, 18, 7, 0, tzinfo=TZ)  # Wednesday before the cut-off
    rep = attendance_range(week, cal, ROSTER, MON, WED, excused=lambda pid, d: pid == "chi", now=now, site_id="s1")
    assert [str(r.status) for r in rep.records["binh"]] == ["late", "absent", "pending"]
    assert [str(r.status) for r in rep.records["chi"]] == ["excused", "excused", "excused"]
    # without site_id the other school's tap counts (a one-school store); with it, not
    assert rep.records["chi"][1].status == Status.EXCUSED
    everywhere = attendance_range(week, cal, ROSTER, TUE, TUE, classes=["6A"])
    assert everywhere.records["chi"][0].status == Status.PRESENT
    summary = {x.person.person_id: x for x in rep.summaries()}["binh"]
    assert (summary.school_days, summary.late, summary.absent) == (3, 1, 1)  # pending days count nowhere


def test_bad_ranges_and_classes(week: CheckinStore, cal: SchoolCalendar) -> None:
    with pytest.raises(RangeError, match="unknown class '9Z'"):
        attendance_range(week, cal, ROSTER, MON, FRI, classes=["9Z"])
    with pytest.raises(RangeError, match="ends"):
        attendance_range(week, cal, ROSTER, FRI, MON)
    with pytest.raises(RangeError, match="at most"):
        attendance_range(week, cal, ROSTER, date(2020, 1, 1), date(2026, 1, 1))
    empty = attendance_range(week, cal, ROSTER, date(2026, 11, 21), date(2026, 11, 22))  # a weekend
    assert empty.days == [] and all(s.school_days == 0 for s in empty.summaries())


def test_csv_downloads_open_and_are_spreadsheet_safe(week: CheckinStore, cal: SchoolCalendar) -> None:
    rep = attendance_range(week, cal, ROSTER, MON, FRI, classes=["6A"], excused={("binh", TUE)}, site_id="s1")
    d = csv_download(rep, "s1", "days", Words("en", {"main": "main gate"}))
    assert d.filename == "attendance_s1_2026-11-16_2026-11-20_6A_days.csv" and d.media_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(d.read().decode("utf-8-sig"), newline="")))
    assert len(rows) == 4 * 3
    binh = [r for r in rows if r["Student ID"] == "binh"]
    assert [r["Status"] for r in binh] == ["Late", "Excused", "Absent", "Present"]
    assert binh[0]["Name"] == '\'=HYPERLINK("http://x")'  # shown as text, not run
    assert binh[0]["First in (Asia/Ho_Chi_Minh)"] == "07:16:30" and binh[0]["Date"] == "2026-11-16"
    assert binh[0]["Gate"] == "main gate"
    an_tue = next(r for r in rows if r["Student ID"] == "an" and r["Date"] == "2026-11-17")
    assert (an_tue["Last out (Asia/Ho_Chi_Minh)"], an_tue["Left early"], an_tue["Method"]) == (
        "14:00:30",
        "Yes",
        "Face",
    )
    summary = list(csv.DictReader(io.StringIO(csv_download(rep, "s1", "summary").read().decode("utf-8-sig"))))
    assert {
        r["Mã học sinh"]: (r["Đúng giờ"], r["Đi muộn"], r["Vắng không phép"], r["Vắng có phép"]) for r in summary
    } == {
        "an": ("4", "0", "0", "0"),
        "binh": ("1", "1", "1", "1"),
        "chi": ("0", "0", "4", "0"),
    }
    assert {r["Mã học sinh"]: r["Tỷ lệ chuyên cần"] for r in summary} == {
        "an": "100,0%",
        "binh": "50,0%",
        "chi": "0,0%",
    }


def test_csv_in_vietnamese_by_default(week: CheckinStore, cal: SchoolCalendar) -> None:
    """The school's language unless English is asked for: headers, status words, methods, yes/no, dd/mm/yyyy."""
    rep = attendance_range(week, cal, ROSTER, MON, FRI, classes=["6A"], excused={("binh", TUE)}, site_id="s1")
    text = csv_download(rep, "s1", "days").read().decode("utf-8")
    assert text.startswith("\ufeff") and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows[0] == [
        "Ngày",
        "Mã học sinh",
        "Họ và tên",
        "Lớp",
        "Trạng thái",
        "Giờ vào (Asia/Ho_Chi_Minh)",
        "Giờ ra (Asia/Ho_Chi_Minh)",
        "Về sớm",
        "Cách điểm danh",
        "Cổng",
    ]
    binh = [r for r in rows[1:] if r[1] == "binh"]
    assert [(r[0], r[4]) for r in binh] == [
        ("16/11/2026", "Đi muộn"),
        ("17/11/2026", "Vắng có phép"),
        ("18/11/2026", "Vắng không phép"),
        ("19/11/2026", "Có mặt"),
    ]
    an_tue = next(r for r in rows if r[1] == "an" and r[0] == "17/11/2026")
    assert (an_tue[7], an_tue[8], an_tue[9]) == ("Có", "Khuôn mặt", "main")  # an unnamed gate keeps its id
    # the register's order: by given name ("<b>Chi</b>" and "=HYPERLINK…" start with punctuation), then "An"
    assert [r[1] for r in rows[1:4]] == ["chi", "binh", "an"]


def test_xlsx_download_is_typed_frozen_and_safe(week: CheckinStore, cal: SchoolCalendar) -> None:
    rep = attendance_range(week, cal, ROSTER, MON, FRI, excused={("binh", TUE)}, site_id="s1")
    d = xlsx_download(rep, "s1")
    assert d.filename.endswith(".xlsx") and "spreadsheetml" in d.media_type
    wb = openpyxl.load_workbook(io.BytesIO(d.read()))
    assert wb.sheetnames == ["Tổng hợp", "Từng ngày"]
    days = wb["Từng ngày"]
    assert days.freeze_panes == "A2" and wb["Tổng hợp"].freeze_panes == "A2"
    header = [c.value for c in days[1]]
    assert header[:5] == ["Ngày", "Mã học sinh", "Họ và tên", "Lớp", "Trạng thái"]
    assert header[5] == "Giờ vào (Asia/Ho_Chi_Minh)"
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in days.iter_rows(min_row=2)]
    assert len(rows) == 4 * 4
    binh_mon = next(r for r in rows if r["Mã học sinh"] == "binh" and r["Trạng thái"] == "Đi muộn")
    assert binh_mon["Ngày"] == datetime(2026, 11, 16)  # a real date cell, shown the Vietnamese way
    assert days["A2"].number_format == "dd/mm/yyyy" and days["A2"].is_date
    assert binh_mon["Giờ vào (Asia/Ho_Chi_Minh)"] == time(7, 16, 30)  # a real time, school's zone
    assert {r["Trạng thái"] for r in rows} == {"Có mặt", "Đi muộn", "Vắng không phép", "Vắng có phép"}
    name_cell = next(c for c in days["C"] if c.value and "HYPERLINK" in str(c.value))
    assert name_cell.data_type == "s" and str(name_cell.value).startswith("'=")
    assert any(r["Họ và tên"] == "Trần <b>Chi</b>" for r in rows)  # data kept as it is
    sheet = wb["Tổng hợp"]
    assert [c.value for c in sheet[1]][-1] == "Tỷ lệ chuyên cần"
    summary = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert [c.value for c in summary["dung"]][3:8] == [4, 1, 0, 3, 0]  # school days, on time, late, absent, excused
    rate = summary["binh"][-1]
    assert rate.value == pytest.approx(0.5) and rate.data_type == "n" and rate.number_format == "0.0%"
    assert summary["dung"][-1].value == pytest.approx(0.25)
    english = openpyxl.load_workbook(io.BytesIO(xlsx_download(rep, "s1", Words("en")).read()))
    assert english.sheetnames == ["Summary", "Days"] and english["Days"]["A2"].number_format == "yyyy-mm-dd"
    assert [c.value for c in english["Days"][1]][:5] == ["Date", "Student ID", "Name", "Class", "Status"]


def test_edfi_json(week: CheckinStore, cal: SchoolCalendar) -> None:
    rep = attendance_range(week, cal, ROSTER, MON, FRI, classes=["6A"], excused={("binh", TUE)}, site_id="s1")
    dl = edfi_download(rep, "s1", 255901001, cal)
    assert dl.filename == "attendance_s1_2026-11-16_2026-11-20_6A_ed-fi.json"
    doc = json.loads(dl.read())
    assert doc["timeZone"] == "Asia/Ho_Chi_Minh" and doc["schoolId"] == 255901001
    events = doc["studentSchoolAttendanceEvents"]
    assert len(events) == 12 + 1  # one per student-day, plus an's early departure
    cats = {
        (e["studentReference"]["studentUniqueId"], e["eventDate"], e["attendanceEventCategoryDescriptor"])
        for e in events
    }
    u = "uri://ed-fi.org/AttendanceEventCategoryDescriptor#"
    assert ("binh", "2026-11-16", u + "Tardy") in cats
    assert ("binh", "2026-11-17", u + "Excused Absence") in cats
    assert ("binh", "2026-11-18", u + "Unexcused Absence") in cats
    assert ("an", "2026-11-17", u + "Early departure") in cats
    assert ("an", "2026-11-17", u + "In Attendance") in cats
    late = next(e for e in events if e["attendanceEventCategoryDescriptor"].endswith("Tardy"))
    assert late["arrivalTime"] == "07:16:30"  # school time, not UTC (00:16)
    assert late["sessionReference"] == {"schoolId": 255901001, "schoolYear": 2027, "sessionName": "HK1"}
    assert late["schoolReference"] == {"schoolId": 255901001}
    assert late["educationalEnvironmentDescriptor"].endswith("#Classroom")
    assert edfi.school_year(date(2027, 3, 1)) == 2027
    # the descriptors stay Ed-Fi's English codes; the free-text reason is in the school's language
    assert late["attendanceEventReason"] == "Đến trường lúc 07:16, sau giờ vào lớp 07:15"
    reasons = {e["attendanceEventCategoryDescriptor"].split("#")[1]: e["attendanceEventReason"] for e in events}
    assert reasons["Early departure"] == "Ra về lúc 14:00, trước giờ tan học"
    assert reasons["Unexcused Absence"] == "Không vào trường trước giờ vào lớp 07:15"
    english = json.loads(edfi_download(rep, "s1", 255901001, cal, words=Words("en")).read())
    tardy = next(
        e for e in english["studentSchoolAttendanceEvents"] if e["attendanceEventCategoryDescriptor"] == u + "Tardy"
    )
    assert tardy["attendanceEventReason"] == "arrived 07:16 after 07:15"
    with pytest.raises(TypeError, match="integer"):
        edfi_download(rep, "s1", "s1", cal).read()  # type: ignore[arg-type]


def test_filename_never_carries_a_path_or_quote() -> None:
    name = filename("s1", MON, TUE, ['../"evil"\r\n'], "days", "csv")
    assert "/" not in name and '"' not in name and "\r" not in name and name.endswith("_days.csv")


def test_a_school_month_streams_in_chunks(store: CheckinStore, cal: SchoolCalendar) -> None:
    roster = [Person(f"p{i:04d}", f"Student {i}", f"{6 + i % 4}{'ABCDE'[i % 5]}", None) for i in range(400)]
    batch = []
    for d in cal.school_days(date(2026, 11, 2), date(2026, 11, 30)):
        for i, p in enumerate(roster):
            if i % 7:
                at = datetime.combine(d, time(7, i % 30), tzinfo=TZ).astimezone(UTC)
                batch.append(
                    CheckIn(
                        new_event_id(),
                        "s1",
                        "gw-1",
                        "main",
                        "in",
                        at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        1,
                        "card",
                        p.person_id,
                        "granted",
                    ).to_dict()
                )
    store.store_batch(batch)
    rep = attendance_range(store, cal, roster, date(2026, 11, 1), date(2026, 11, 30))
    chunks = list(csv_download(rep, "s1").chunks)
    assert len(chunks) > 3 and all(len(c) < 80 * 1024 for c in chunks)
    s = rep.summaries()
    assert sum(x.absent for x in s) == len(rep.days) * len([p for i, p in enumerate(roster) if i % 7 == 0])
    assert sum(x.late for x in s) == len(rep.days) * sum(1 for i in range(400) if i % 7 and i % 30 > 15)


def test_xlsx_writer_cells_openpyxl_reads_back() -> None:
    from edge.central.attendance.xlsx import Percent, column, write_workbook

    assert [column(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    buf = io.BytesIO()
    rows = [
        ['bell\x07 <&> "q"', 3, 2.5, True, None, date(2027, 1, 2), time(7, 5, 9), datetime(2027, 1, 2, 13, 30)],
        ["=1+1", -4, 0.0, False, "", date(1900, 3, 1), time(0, 0), datetime(2026, 11, 24, 0, 0, 1)],
    ]
    write_workbook(buf, [("s one", [f"h{i}" for i in range(8)], rows), ("two", ["x"], [[Percent(0.1667)]])])
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert wb.sheetnames == ["s one", "two"] and wb["two"].max_row == 2
    assert wb["two"]["A2"].value == pytest.approx(0.1667) and wb["two"]["A2"].number_format == "0.0%"
    got = [[c.value for c in r] for r in wb["s one"].iter_rows(min_row=2)]
    assert got[0][:4] == ['bell\ufffd <&> "q"', 3, 2.5, "yes"] and got[0][4] is None
    assert got[0][5:] == [datetime(2027, 1, 2), time(7, 5, 9), datetime(2027, 1, 2, 13, 30)]
    assert got[1][0] == "=1+1" and wb["s one"]["A3"].data_type == "s"  # text, never a formula
    assert got[1][5] == datetime(1900, 3, 1) and got[1][7] == datetime(2026, 11, 24, 0, 0, 1)
    assert wb["s one"]["A1"].font.b and wb["s one"].freeze_panes == "A2"
    with pytest.raises(ValueError, match="not allowed"):
        write_workbook(io.BytesIO(), [("a/b", ["x"], [])])
    with pytest.raises(ValueError, match="date format"):
        write_workbook(io.BytesIO(), [("a", ["x"], [])], date_format='yyyy"<x/>')


def test_every_column_status_and_method_has_words_in_both_languages() -> None:
    """A new field or status without words would leak an English key into a Vietnamese file."""
    from edge.central.attendance import labels
    from edge.central.attendance.summary import DAY_FIELDS, SUMMARY_FIELDS

    assert set(SUMMARY_FIELDS) | set(DAY_FIELDS) <= set(labels.FIELDS)
    assert {str(s) for s in Status} == set(labels.STATUSES)
    vi, en = Words("vi"), Words("en")
    for f in labels.FIELDS:
        assert vi.column(f) != f and en.column(f) != f  # words, not the key
    assert (vi.date(MON), en.date(MON)) == ("16/11/2026", "2026-11-16")
    assert (vi.percent(2 / 3), en.percent(2 / 3), vi.percent(None)) == ("66,7%", "66.7%", "")
    assert labels.language("en") == "en" and labels.language(None) == labels.language("fr") == "vi"
