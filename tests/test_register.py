"""The month's class register (edge/central/attendance/register.py, routes/register.py, register_pdf.py) through the
real app: the PDF opened with a PDF reader (pypdf) and read back by position — pages, one row per student in
register order, one column per school day, the marks P/K/M in the right cells, the totals per student and per day —
the printable page, who may print which class, the links from the class and reports pages; and in Chromium, the
class day printed (print media emulated): navigation and forms hidden, the table within an A4 page's width.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from edge.central.attendance.collation import name_key
from edge.central.web.context import WebContext
from edge.devtools.postgres import PostgresServer
from tests.web_support import (
    SITE,
    TZ,
    browser,
    checkin,
    live_server,
    login,
    make_web,
    password_of,
    screenshot,
)

ZONE = ZoneInfo(TZ)
AFTER_NOVEMBER = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
"""1 Dec 2026, 10:00 in Hà Nội: every school day of November is judged."""
# November 2026 at the test school: weekdays, less Friday the 20th (its holiday)
SCHOOL_DAYS = [date(2026, 11, d) for d in range(1, 31) if date(2026, 11, d).weekday() < 5 and d != 20]
NAMES = [
    "Nguyễn Văn An",  # the guardians file names 'an' and 'dung': they stay
    "Phạm Dũng",
    "Trần Thị Ánh",
    "Lê Anh",
    "Đỗ Ân",
    "Võ Đức",
    "Bùi Văn Dũng",
    "Hoàng Đạt",
    "Lý Em",
]
GIVEN = [
    "Bình",
    "Châu",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hòa",
    "Hùng",
    "Huy",
    "Khánh",
    "Linh",
    "Long",
    "Mai",
    "Minh",
    "Nam",
    "Ngân",
    "Ngọc",
    "Nhung",
    "Phúc",
    "Quân",
    "Quỳnh",
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm"]


def roster() -> tuple[str, list[tuple[str, str]]]:
    """40 students in 6A (ids s00…, 'an'), and 'dung' in 6B."""
    people = [("an", NAMES[0])] + [(f"s{i:02d}", n) for i, n in enumerate(NAMES[2:])]
    people += [(f"s{i:02d}", f"{FAMILY[i % 4]} Thị {GIVEN[i % len(GIVEN)]}") for i in range(10, 10 + 40 - len(people))]
    lines = ["person_id,name,class,card_uid,photos"] + [f"{pid},{name},6A,," for pid, name in people]
    lines.append("dung,Phạm Dũng,6B,,")
    return "\n".join(lines) + "\n", people


def expected_status(k: int, j: int) -> str:
    """The pattern the fixture stores: student k on school day j (both from 0)."""
    if (k + 2 * j) % 11 == 0:
        return "excused" if j % 2 == 0 else "absent"
    if (3 * k + j) % 13 == 0:
        return "late"
    return "present"


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[WebContext, TestClient, list[Any]]]:
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    text, people = roster()
    ctx, app = make_web(tmp_path, url, roster=text, now=AFTER_NOVEMBER)
    events: list[dict[str, Any]] = []
    excuses: list[tuple[str, str, str, str, str, float]] = []
    for k, (pid, _) in enumerate(people):
        for j, d in enumerate(SCHOOL_DAYS):
            status = expected_status(k, j)
            if status == "excused":
                excuses.append((SITE, pid, d.isoformat(), "ốm", "teacher6a", 0.0))
            elif status in ("present", "late"):
                hh, mm = (7, 52) if status == "late" else (7, 20)
                events.append(checkin(pid, datetime.combine(d, time(hh, mm), tzinfo=ZONE).astimezone(UTC)))
    ctx.store.store_batch(events)
    with ctx.db.transaction() as tx:
        for row in excuses:
            tx.execute(
                "INSERT INTO excuses (site_id, person_id, day, reason, by_user, at) VALUES (?, ?, ?, ?, ?, ?)", row
            )
    with TestClient(app) as client:
        yield ctx, client, people
    ctx.close()
    ctx.store.close()


def pdf_lines(page: Any) -> list[list[tuple[float, str]]]:
    """The page's text as lines top to bottom, each a list of (x, text) left to right (pypdf's positions)."""
    frags: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, _size: Any) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            frags.append((y, x, text.strip()))

    page.extract_text(visitor_text=visit)
    lines: list[list[tuple[float, str]]] = []
    last_y: float | None = None
    for y, x, text in sorted(frags, key=lambda f: (-f[0], f[1])):
        if last_y is None or abs(y - last_y) > 2.0:
            lines.append([])
            last_y = y
        lines[-1].append((x, text))
    return lines


def test_the_pdf_register_holds_rows_columns_marks_and_totals(web: tuple[WebContext, TestClient, list[Any]]) -> None:
    ctx, c, people = web
    login(c, "office")
    r = c.get(f"/s/{SITE}/class/6A/register.pdf?month=2026-11")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="so-diem-danh_test-school_6A_2026-11.pdf"'
    reader = PdfReader(io.BytesIO(r.content))
    pages = reader.pages
    assert len(pages) == 2  # 40 students at ~35 rows an A4 landscape page
    for p in pages:
        assert (round(float(p.mediabox.width)), round(float(p.mediabox.height))) == (842, 595)  # A4 landscape, pt

    day_numbers = [str(d.day) for d in SCHOOL_DAYS]
    students: list[tuple[str, list[str], list[str]]] = []  # (name, marks per day, totals)
    day_totals: dict[str, list[str]] = {}
    for n, page in enumerate(pages):
        lines = pdf_lines(page)
        text = " ".join(t for line in lines for _, t in line)
        if n == 0:
            assert "SỔ ĐIỂM DANH" in text and "TRƯỜNG THCS THỬ" in text.upper()
            assert "Lớp 6A · Tháng 11/2026 · Năm học 2026–2027" in text
        header = next(line for line in lines if [t for _, t in line][:2] == day_numbers[:2])
        assert [t for _, t in header][: len(day_numbers)] == day_numbers  # one column per school day, on every page
        columns = [x for x, _ in header][: len(day_numbers)]
        totals_x = [x for x, t in next(line for line in lines if any(t == "CM" for _, t in line)) if t in "CMPKM"]
        for line in lines:
            cells = [t for _, t in line]
            if re.fullmatch(r"\d+", cells[0]) and len(cells) > 1 and not re.fullmatch(r"\d+", cells[1]):
                marks = [""] * len(columns)
                totals = [""] * 4
                for x, t in line[2:]:
                    if x > columns[-1] + 15:
                        totals[min(range(4), key=lambda i: abs(totals_x[i] - x))] = t
                    else:
                        marks[min(range(len(columns)), key=lambda i: abs(columns[i] - x))] = t
                assert int(cells[0]) == len(students) + 1  # STT runs on across pages
                students.append((cells[1], marks, totals))
            elif cells[0] in ("Có mặt", "Nghỉ có phép (P)", "Nghỉ không phép (K)", "Đi muộn (M)"):
                day_totals[cells[0]] = cells[1:]
        if n == len(pages) - 1:
            assert "GIÁO VIÊN CHỦ NHIỆM" in text and "HIỆU TRƯỞNG" in text and "(Ký, ghi rõ họ tên)" in text

    # one row per student, in register order: given name first, Vietnamese collation (Ánh after Anh, Ân after both,
    # Đ after D) — and only the class's students (Phạm Dũng of 6B is not here)
    by_name = dict((name, k) for k, (_, name) in enumerate(people))
    assert [s[0] for s in students] == sorted(by_name, key=name_key)
    order = [s[0] for s in students]
    assert order[:4] == ["Nguyễn Văn An", "Lê Anh", "Trần Thị Ánh", "Đỗ Ân"]
    assert order.index("Bùi Văn Dũng") < order.index("Hoàng Đạt") < order.index("Võ Đức") < order.index("Lý Em")
    assert "Phạm Dũng" not in [s[0] for s in students]

    letter = {"present": "", "late": "M", "excused": "P", "absent": "K"}
    expected_days = {"Có mặt": [0] * len(SCHOOL_DAYS), "P": [0] * len(SCHOOL_DAYS), "K": [0] * len(SCHOOL_DAYS),
                     "M": [0] * len(SCHOOL_DAYS)}  # fmt: skip
    for name, marks, totals in students:
        k = by_name[name]
        statuses = [expected_status(k, j) for j in range(len(SCHOOL_DAYS))]
        assert marks == [letter[s] for s in statuses], name
        attended = sum(s in ("present", "late") for s in statuses)
        assert totals == [str(attended), str(statuses.count("excused")), str(statuses.count("absent")),
                          str(statuses.count("late"))], name  # fmt: skip
        for j, s in enumerate(statuses):
            expected_days["Có mặt"][j] += s in ("present", "late")
            for key, st in (("P", "excused"), ("K", "absent"), ("M", "late")):
                expected_days[key][j] += s == st
    assert day_totals["Có mặt"] == [str(v) for v in expected_days["Có mặt"]] + [str(sum(expected_days["Có mặt"]))]
    assert day_totals["Nghỉ có phép (P)"] == [str(v) for v in expected_days["P"]] + [str(sum(expected_days["P"]))]
    assert day_totals["Nghỉ không phép (K)"] == [str(v) for v in expected_days["K"]] + [str(sum(expected_days["K"]))]
    assert day_totals["Đi muộn (M)"] == [str(v) for v in expected_days["M"]] + [str(sum(expected_days["M"]))]
    assert sum(expected_days["P"]) > 0 and sum(expected_days["K"]) > 0 and sum(expected_days["M"]) > 0

    audit = ctx.db.query("SELECT username, action, detail FROM web_audit WHERE action = 'report_export'")
    assert [(a["username"], a["action"]) for a in audit] == [("office", "report_export")]
    assert '"register_pdf"' in audit[0]["detail"] and '"2026-11-30"' in audit[0]["detail"]


def test_the_register_page_and_who_may_print_it(web: tuple[WebContext, TestClient, list[Any]]) -> None:
    _, c, people = web
    login(c, "teacher6a")
    page = c.get(f"/s/{SITE}/class/6A/register?month=2026-11")
    assert page.status_code == 200 and 'id="register-table"' in page.text
    assert page.text.count('class="student"') == len(people)
    assert 'href="/s/test-school/class/6A/register.pdf?month=2026-11"' in page.text
    assert '<link rel="stylesheet" href="/static/register.css">' in page.text
    assert c.get(f"/s/{SITE}/class/6A/register.pdf").status_code == 200  # this month by default
    assert c.get(f"/s/{SITE}/class/6B/register?month=2026-11").status_code == 403  # not the teacher's class
    assert c.get(f"/s/{SITE}/class/6B/register.pdf?month=2026-11").status_code == 403
    assert c.get(f"/s/{SITE}/class/9Z/register.pdf?month=2026-11").status_code == 404
    assert c.get(f"/s/{SITE}/class/6A/register.pdf?month=2026-13").status_code == 422
    summer = c.get(f"/s/{SITE}/class/6A/register.pdf?month=2027-07")  # after the last term: no school day
    assert summer.status_code == 200
    last = PdfReader(io.BytesIO(summer.content)).pages[-1].extract_text() or ""
    assert "40 học sinh, 0 ngày học" in " ".join(last.split())
    # the class day and the reports link to it
    day = c.get(f"/s/{SITE}/class/6A?day=2026-11-24").text
    assert 'href="/s/test-school/class/6A/register?month=2026-11" id="register-link"' in day
    names = dict(people)
    shown = re.findall(r'<tr id="row-([^"]+)">', day)
    assert shown == sorted(names, key=lambda pid: (name_key(names[pid]), pid))  # the class day: register order too
    reports = c.get(f"/s/{SITE}/reports?month=2026-11&class=6A").text
    assert 'href="/s/test-school/class/6A/register.pdf?month=2026-11"' in reports
    # English pages (the user's switch) give an English register: its title and its letters; a PDF may ask for it
    c.cookies.set("edge_lang", "en")
    en = c.get(f"/s/{SITE}/class/6A/register?month=2026-11").text
    assert "CLASS ATTENDANCE REGISTER" in en and "E: excused absence" in en and "Form teacher" in en
    c.cookies.set("edge_lang", "vi")
    pdf = PdfReader(io.BytesIO(c.get(f"/s/{SITE}/class/6A/register.pdf?month=2026-11&lang=en").content))
    assert "CLASS ATTENDANCE REGISTER" in (pdf.pages[0].extract_text() or "")
    c.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', day).group(1)})  # type: ignore[union-attr]
    login(c, "guard")
    assert c.get(f"/s/{SITE}/class/6A/register.pdf?month=2026-11").status_code == 403


@pytest.mark.needs("chromium")
def test_the_class_day_prints_on_a4(tmp_path: Path) -> None:
    """Chromium with print media emulated (CDP Emulation.setEmulatedMedia) at an A4 page's CSS width (210 mm =
    794 px): the navigation, pager and excuse forms are hidden, the school's name shows, the table fits the width."""
    from selenium.webdriver.common.by import By

    text, _ = roster()
    ctx, app = make_web(tmp_path, roster=text, now=AFTER_NOVEMBER)
    ctx.store.store_batch([checkin("an", datetime(2026, 11, 24, 0, 20, tzinfo=UTC))])
    try:
        with live_server(app, ctx) as srv, browser(tmp_path, width=794, height=1123) as driver:
            driver.get(f"{srv.url}/login")
            driver.find_element(By.ID, "username").send_keys("office")
            driver.find_element(By.ID, "password").send_keys(password_of("office"))
            driver.find_element(By.ID, "login-submit").click()
            driver.get(f"{srv.url}/s/{SITE}/class/6A?day=2026-11-24")
            table = driver.find_element(By.ID, "class-day")
            assert driver.find_element(By.CSS_SELECTOR, "header.top").is_displayed()  # on screen: navigation
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
            assert not driver.find_element(By.CSS_SELECTOR, "header.top").is_displayed()
            assert not driver.find_element(By.CSS_SELECTOR, ".pager").is_displayed()
            assert not any(e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, "details.excuse"))
            assert driver.find_element(By.CSS_SELECTOR, ".print-school").text == "Trường THCS Thử"
            width = driver.execute_script("return document.documentElement.clientWidth")
            right = driver.execute_script("return arguments[0].getBoundingClientRect().right", table)
            scroll = driver.execute_script("return document.documentElement.scrollWidth")
            assert right <= width and scroll <= width, (right, scroll, width)
            rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
            assert len(rows) == 40 and rows[0].text.startswith("Nguyễn Văn An")  # register order, first: An
            # the month's register prints on A4 landscape (297 mm = 1123 px) with its table inside the page
            driver.set_window_size(1123, 794)
            driver.get(f"{srv.url}/s/{SITE}/class/6A/register?month=2026-11")
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
            assert not driver.find_element(By.ID, "register-tools").is_displayed()
            reg = driver.find_element(By.ID, "register-table")
            width = driver.execute_script("return document.documentElement.clientWidth")
            assert driver.execute_script("return arguments[0].getBoundingClientRect().right", reg) <= width
            screenshot(driver, tmp_path, "register-print")
    finally:
        ctx.close()
        ctx.store.close()


def test_the_register_bench_runs(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m edge.bench.register` end to end with tiny numbers (figures are not judged: a benchmark)."""
    import json
    import sys

    from edge.bench import register as bench

    monkeypatch.setattr(sys, "argv", ["register", "--students", "5", "--days", "3", "--runs", "1"])
    bench.main()
    doc = json.loads(capsys.readouterr().out)
    assert doc["students"] == 5 and doc["pdf_ms"]["n"] == 1 and doc["pdf_bytes"] > 1000
    assert set(doc["sort_2000_ms"]) == {"first", "cached"}


def test_the_reports_grid_uses_the_registers_letters() -> None:
    """The screen's day-by-day grid and the printed register mark a day the same way (P, K, M in Vietnamese)."""
    from edge.central.attendance.register import MARKS
    from edge.central.web.i18n import translate

    for lang in ("vi", "en"):
        for status, letter in MARKS[lang].items():
            assert translate(lang, f"reports.mark.{status}") == letter, (lang, status)
