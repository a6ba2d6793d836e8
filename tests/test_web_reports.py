"""The Reports page, its downloads and /api/v1/reports (edge/central/web/routes/reports.py) through the real app
with auth on: every download opened the way its user opens it (csv module, openpyxl, json) and holding the
expected rows; role rules (a teacher is 403 on another class, page + download + API); bad input is a clear error;
names are escaped. On SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from fastapi.testclient import TestClient

from edge.central.school.edits import set_edfi_school_id
from edge.central.web.context import WebContext
from edge.central.web.i18n import translate
from edge.devtools.postgres import PostgresServer
from tests.helpers import wait_until
from tests.web_support import ROSTER, SITE, TZ, checkin, login, make_web

ZONE = ZoneInfo(TZ)
MON, TUE, WED, THU = (date(2026, 11, d) for d in (16, 17, 18, 19))  # Fri 20 is the test school's holiday
NAUGHTY = ROSTER.replace("Lê Minh Chi", "<script>alert(1)</script>").replace("Hoàng Em", '=HYPERLINK("x")')
BASE = f"/s/{SITE}/reports"
WEEK = "from=2026-11-16&to=2026-11-20"


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm, 10), tzinfo=ZONE).astimezone(UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[WebContext, TestClient]]:
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    ctx, app = make_web(tmp_path, url, roster=NAUGHTY)
    events: list[dict[str, Any]] = []
    for d in (MON, TUE, WED, THU):
        events.append(checkin("an", at(d, 7, 30)))
        events.append(checkin("an", at(d, 16, 40), direction="out"))
        events.append(checkin("dung", at(d, 7, 40)))
    events.append(checkin("binh", at(MON, 7, 50)))  # late (cut-off 07:45)
    events.append(checkin("binh", at(TUE, 7, 44)))
    events.append(checkin("chi", at(MON, 7, 0), decision="denied"))  # never counts
    events.append(checkin("chi", at(TUE, 7, 0), site_id="another-school"))
    ctx.store.store_batch(events)
    with ctx.db.transaction() as tx:
        tx.execute(
            "INSERT INTO excuses (site_id, person_id, day, reason, by_user, at) VALUES (?, ?, ?, ?, ?, ?)",
            (SITE, "binh", WED.isoformat(), "ốm", "teacher6a", 0.0),
        )
    with TestClient(app) as client:
        yield ctx, client
    ctx.close()
    ctx.store.close()


def test_page_shows_summary_and_grid_escaped(web: tuple[WebContext, TestClient]) -> None:
    _, c = web
    login(c, "office")
    r = c.get(f"{BASE}?{WEEK}&class=6A")
    assert r.status_code == 200, r.text
    page = r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert 'id="sum-binh"' in page and 'id="report-grid"' in page
    row = page.split('id="sum-binh"')[1].split("</tr>")[0]
    cells = [x.split(">")[-1] for x in row.split("</td>")[:-1]]
    assert cells[2:8] == ["4", "1", "1", "1", "1", "0"]  # days, on time, late, absent, excused, early
    assert "download.xlsx?from=2026-11-16&amp;to=2026-11-20&amp;class=6A" in page
    month = c.get(f"{BASE}?month=2026-11")
    assert month.status_code == 200 and "dung" in month.text and "Phạm Dũng" in month.text


def test_downloads_open_and_hold_the_rows(web: tuple[WebContext, TestClient]) -> None:
    _, c = web
    login(c, "office")
    r = c.get(f"{BASE}/download.csv?{WEEK}&class=6A&layout=days")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        'attachment; filename="attendance_test-school_2026-11-16_2026-11-20_6A_days.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert len(rows) == 4 * 3
    binh = [(x["Ngày"], x["Trạng thái"], x[f"Giờ vào ({TZ})"]) for x in rows if x["Mã học sinh"] == "binh"]
    assert binh == [
        ("16/11/2026", "Đi muộn", "07:50:10"),
        ("17/11/2026", "Có mặt", "07:44:10"),
        ("18/11/2026", "Vắng có phép", ""),
        ("19/11/2026", "Vắng không phép", ""),
    ]
    summary = c.get(f"{BASE}/download.csv?{WEEK}&layout=summary")
    srows = {x["Mã học sinh"]: x for x in csv.DictReader(io.StringIO(summary.content.decode("utf-8-sig")))}
    assert set(srows) == {"an", "binh", "chi", "dung", "em"}
    assert srows["em"]["Họ và tên"] == '\'=HYPERLINK("x")'  # neutralised in the file
    assert (srows["chi"]["Vắng không phép"], srows["an"]["Đúng giờ"]) == ("4", "4")
    # English when asked (or when the user's pages are in English)
    en = c.get(f"{BASE}/download.csv?{WEEK}&layout=summary&lang=en").content.decode("utf-8-sig")
    assert en.splitlines()[0].startswith("Student ID,Name,Class,School days,On time")
    c.cookies.set("edge_lang", "en")
    assert c.get(f"{BASE}/download.csv?{WEEK}&layout=summary").content.decode("utf-8-sig") == en
    c.cookies.set("edge_lang", "vi")

    x = c.get(f"{BASE}/download.xlsx?{WEEK}")
    assert x.status_code == 200 and "spreadsheetml" in x.headers["content-type"]
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    days = wb["Từng ngày"]
    header = [cell.value for cell in days[1]]
    got = [dict(zip(header, (cell.value for cell in row), strict=True)) for row in days.iter_rows(min_row=2)]
    assert len(got) == 4 * 5 and days.freeze_panes == "A2"
    dung = next(g for g in got if g["Mã học sinh"] == "dung")
    assert dung["Ngày"] == datetime(2026, 11, 16) and dung[f"Giờ vào ({TZ})"] == time(7, 40, 10)
    assert next(g for g in got if g["Mã học sinh"] == "em")["Họ và tên"] == '\'=HYPERLINK("x")'
    rate = {r[0].value: r[-1] for r in wb["Tổng hợp"].iter_rows(min_row=2)}["binh"]  # 2 of 4 judged days
    assert rate.value == 0.5 and rate.number_format == "0.0%"

    j = c.get(f"{BASE}/download.json?{WEEK}&class=6A")
    doc = json.loads(j.content)
    assert j.headers["content-type"].startswith("application/json")
    events = doc["studentSchoolAttendanceEvents"]
    cats = {(e["studentReference"]["studentUniqueId"], e["eventDate"]): e for e in events}
    assert cats[("binh", "2026-11-16")]["attendanceEventCategoryDescriptor"].endswith("#Tardy")
    assert cats[("binh", "2026-11-16")]["arrivalTime"] == "07:50:10"
    assert cats[("binh", "2026-11-18")]["attendanceEventCategoryDescriptor"].endswith("#Excused Absence")
    assert cats[("binh", "2026-11-18")]["attendanceEventReason"] == "Vắng có phép: ốm"  # the teacher's note
    assert cats[("chi", "2026-11-17")]["attendanceEventCategoryDescriptor"].endswith("#Unexcused Absence")
    assert cats[("an", "2026-11-17")]["departureTime"] == "16:40:10"
    assert len(events) == 12 and doc["timeZone"] == TZ and doc["schoolId"] == 255901001
    assert cats[("binh", "2026-11-16")]["attendanceEventReason"] == "Đến trường lúc 07:50, sau giờ vào lớp 07:45"


def test_teacher_sees_own_class_only(web: tuple[WebContext, TestClient]) -> None:
    _, c = web
    login(c, "teacher6a")
    assert c.get(f"{BASE}?{WEEK}&class=6A").status_code == 200
    for url in (
        f"{BASE}?{WEEK}&class=6B",
        f"{BASE}/download.csv?{WEEK}&class=6B",
        f"{BASE}/download.xlsx?{WEEK}&class=6B",
        f"/api/v1/reports/{SITE}/summary?{WEEK}&class=6B",
        f"/api/v1/reports/{SITE}/download.json?{WEEK}&class=6B",
    ):
        assert c.get(url).status_code == 403, url
    # without a class a teacher gets their own classes only
    rows = list(csv.DictReader(io.StringIO(c.get(f"{BASE}/download.csv?{WEEK}").content.decode("utf-8-sig"))))
    assert {r["Lớp"] for r in rows} == {"6A"}
    api = c.get(f"/api/v1/reports/{SITE}/summary?{WEEK}").json()
    assert api["classes"] == ["6A"]


def test_guard_and_anonymous(web: tuple[WebContext, TestClient]) -> None:
    _, c = web
    assert c.get(f"/api/v1/reports/{SITE}/summary").status_code == 401
    assert c.get(BASE, follow_redirects=False).status_code == 303
    login(c, "guard")
    assert c.get(BASE).status_code == 403
    assert c.get(f"/api/v1/reports/{SITE}/days").status_code == 403


def test_bad_input_is_a_clear_error(web: tuple[WebContext, TestClient]) -> None:
    _, c = web
    login(c, "office")
    r = c.get(f"{BASE}?from=2026-11-20&to=2026-11-16")
    assert r.status_code == 422 and translate("vi", "reports.err.ends_before") in r.text
    r = c.get(f"{BASE}?from=2026-13-45")
    assert r.status_code == 422 and translate("vi", "reports.err.not_date", value="2026-13-45") in r.text
    assert c.get(f"{BASE}?class=9Z").status_code == 404
    assert c.get(f"{BASE}?class=6A%27%20OR%201%3D1--").status_code == 404  # SQL in a parameter: just a name
    assert c.get(f"{BASE}?class=..%2F..%2Fetc").status_code == 422  # a path: refused by the pattern
    assert c.get(f"{BASE}/download.exe?{WEEK}").status_code in (404, 422)
    api = c.get(f"/api/v1/reports/{SITE}/summary?from=2020-01-01&to=2026-01-01")
    assert api.status_code == 422 and "at most 400" in api.json()["detail"]
    assert c.get(f"/api/v1/reports/{SITE}/days?limit=0").status_code == 422
    assert c.get("/api/v1/reports/nowhere/summary").status_code == 404


def test_api_summary_and_paginated_days(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    token = ctx.tokens.create("office", "sis")
    h = {"Authorization": f"Bearer {token}"}
    s = c.get(f"/api/v1/reports/{SITE}/summary?{WEEK}", headers=h).json()
    assert s["school_days"] == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"]
    by = {x["person_id"]: x for x in s["students"]}
    assert (by["binh"]["late"], by["binh"]["excused"], by["binh"]["attendance_rate"]) == (1, 1, 0.5)
    seen: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = c.get(f"/api/v1/reports/{SITE}/days?{WEEK}&limit=7&offset={offset}", headers=h).json()
        assert page["total"] == 20 and len(page["rows"]) <= 7
        seen.extend(page["rows"])
        offset = page["next_offset"]
    assert len(seen) == 20 and len({(r["date"], r["person_id"]) for r in seen}) == 20
    assert next(r for r in seen if r["person_id"] == "binh")["first_in"] == "2026-11-16T07:50:10+07:00"
    x = c.get(f"/api/v1/reports/{SITE}/download.xlsx?{WEEK}", headers=h)
    assert openpyxl.load_workbook(io.BytesIO(x.content)).sheetnames == ["Tổng hợp", "Từng ngày"]
    assert "/api/v1/reports/{site_id}/summary" in c.get("/api/openapi.json", headers=h).json()["paths"]


def test_downloads_and_bulk_api_reads_are_audited(web: tuple[WebContext, TestClient]) -> None:
    """Review L6: who took which school's range of which classes, in which format, from where."""
    from edge.central.web import audit

    ctx, c = web
    login(c, "teacher6a")
    assert c.get(f"{BASE}/download.csv?{WEEK}&layout=summary").status_code == 200
    login(c, "office")
    assert c.get(f"/api/v1/reports/{SITE}/download.json?{WEEK}&class=6B").status_code == 200
    assert c.get(f"/api/v1/reports/{SITE}/days?{WEEK}&limit=2").status_code == 200
    assert c.get(f"/api/v1/reports/{SITE}/days?{WEEK}&limit=2&offset=2").status_code == 200  # same read, page 2
    assert c.get(f"/api/v1/reports/{SITE}/summary?month=2026-11").status_code == 200
    page = c.get(f"/api/v1/schools/{SITE}/checkins?limit=2&class=6A").json()
    assert c.get(f"/api/v1/schools/{SITE}/checkins?limit=2&cursor={page['next_cursor']}").status_code == 200
    rows = list(reversed([r for r in audit.recent(ctx.db) if r["action"] in ("report_export", "api_checkins")]))
    got = [(r["username"], r["action"], r["detail"].get("what"), r["site_id"], r["ip"]) for r in rows]
    assert got == [
        ("teacher6a", "report_export", "download", SITE, "testclient"),
        ("office", "report_export", "api_download", SITE, "testclient"),
        ("office", "report_export", "api_days", SITE, "testclient"),
        ("office", "report_export", "api_summary", SITE, "testclient"),
        ("office", "api_checkins", None, SITE, "testclient"),
    ]
    assert rows[0]["detail"] == {
        "what": "download", "from": "2026-11-16", "to": "2026-11-20", "classes": ["6A"], "format": "csv",
        "layout": "summary",
    }  # fmt: skip
    assert rows[1]["detail"]["classes"] == ["6B"] and rows[1]["detail"]["format"] == "json"
    assert rows[4]["detail"] == {"since": None, "until": None, "class": "6A", "limit": 2}


def test_edfi_needs_the_schools_edfi_number(web: tuple[WebContext, TestClient]) -> None:
    """Ed-Fi's schoolId is an integer the state assigns: without it no Ed-Fi file (422 saying what to set), and the
    page says so instead of offering the link; the other downloads are unaffected."""
    ctx, c = web
    with ctx.db.transaction() as tx:  # the school's record in the store (imported from central.yaml) loses it
        set_edfi_school_id(tx, SITE, None)
    login(c, "office")
    wait_until(lambda: c.get(f"{BASE}/download.json?{WEEK}").status_code == 422, 10, "the store's change in force")
    h = {"Authorization": f"Bearer {ctx.tokens.create('office', 'sis')}"}
    r = c.get(f"/api/v1/reports/{SITE}/download.json?{WEEK}", headers=h)
    assert r.status_code == 422 and "edfi_school_id" in r.json()["detail"]
    page = c.get(f"{BASE}?{WEEK}").text
    assert 'id="dl-edfi"' not in page and 'id="edfi-missing"' in page and "mã số Ed-Fi" in page
    assert c.get(f"{BASE}/download.csv?{WEEK}").status_code == 200
