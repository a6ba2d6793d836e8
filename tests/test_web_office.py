"""The office's daily tasks through the web app (#23 items 2 and 5), on SQLite and PostgreSQL: the calendar editor
(one transaction, version bumped, audited, followed by LiveSchools), bulk multi-day excuses (future days suppress
the absence notice), the unknown-card list (masked UIDs, gate names), the roster template/export round trip and
the navigation each role gets (every link opens; what a role may not open is not linked)."""

from __future__ import annotations

import io
import json
import queue
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from edge.central.notify.hook import connect, excused_on
from edge.central.notify.planner import absence_jobs
from edge.central.school import edits
from edge.central.school.live import LiveSchools
from edge.central.school.state import SchoolState, version_of
from edge.central.web import calendar_edit as ce
from edge.central.web.context import WebContext
from edge.central.web.db import WebDb
from edge.config.central import GateName
from edge.devtools.postgres import PostgresServer
from tests.web_support import SITE, USERS, checkin, csrf_from, login, make_web

CAL = f"/s/{SITE}/calendar"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        return pg.fresh_database()
    return None


@pytest.fixture
def web(tmp_path: Path, store_url: str | None) -> Iterator[tuple[WebContext, TestClient]]:
    ctx, app = make_web(tmp_path, store_url)
    with TestClient(app) as client:
        login(client, "office")
        yield ctx, client
    ctx.close()
    ctx.store.close()


def as_user(ctx: WebContext, client: TestClient, username: str) -> TestClient:
    other = TestClient(client.app)
    login(other, username)
    return other


def post(c: TestClient, path: str, page: str, **data: Any) -> Any:
    return c.post(path, data={"csrf_token": csrf_from(c.get(page).text), **data}, follow_redirects=False)


def verdict(c: TestClient, day: str) -> str:
    page = c.get(f"{CAL}?check={day}").text
    m = re.search(r'id="check-verdict"[^>]*>(.*?)</p>', page, re.S)
    assert m, page
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(1))).strip()


def audit_actions(ctx: WebContext) -> list[tuple[str, dict[str, Any]]]:
    rows = ctx.db.query("SELECT action, detail FROM web_audit ORDER BY id")
    return [(str(r["action"]), json.loads(r["detail"])) for r in rows]


# the calendar editor --------------------------------------------------------------------------------------------


def test_calendar_holiday_and_makeup_day_change_the_day_everywhere(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    wed, sat = "2026-11-25", "2026-11-28"
    assert verdict(c, wed).startswith("25/11/2026: có học")
    assert "Thứ Bảy không phải ngày học" in verdict(c, sat)
    v0 = version_of(ctx.db, SITE)

    r = post(c, f"{CAL}/days", CAL, kind="holiday", name="Nghỉ bù 20/11", start=wed, end="")
    assert r.status_code == 303, r.text
    assert verdict(c, wed) == "25/11/2026: nghỉ học — ngày nghỉ: Nghỉ bù 20/11"
    r = post(c, f"{CAL}/days", CAL, kind="makeup", name="Học bù thứ Tư", start=sat, end="")
    assert r.status_code == 303
    assert verdict(c, sat) == "28/11/2026: có học — ngày học bù: Học bù thứ Tư"

    assert version_of(ctx.db, SITE) == v0 + 2  # one version per edit, in the edit's transaction
    d = ctx.directories[SITE]
    assert not d.calendar.is_school_day(date(2026, 11, 25)) and d.calendar.is_school_day(date(2026, 11, 28))
    actions = audit_actions(ctx)
    assert [a for a, _ in actions][-2:] == ["calendar.add_holiday", "calendar.add_makeup"]
    assert actions[-2][1] == {"kind": "holiday", "name": "Nghỉ bù 20/11", "start": wed, "end": wed}

    page = c.get(CAL).text
    key = re.search(r'name="kind" value="holiday">\s*<input type="hidden" name="key" value="(2026-11-25\|[^"]+)"', page)
    assert key, page
    assert post(c, f"{CAL}/days/remove", CAL, kind="holiday", key=key.group(1)).status_code == 303
    assert verdict(c, wed).startswith("25/11/2026: có học")
    assert ctx.directories[SITE].calendar.is_school_day(date(2026, 11, 25))


def test_calendar_times_terms_go_live_and_refusals(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    assert post(c, f"{CAL}/times", CAL, scope="class", name="6A", cutoff="08:05", dismissal="").status_code == 303
    assert post(c, f"{CAL}/times", CAL, scope="grade", name="6", cutoff="07:55", dismissal="17:00").status_code == 303
    cal = ctx.directories[SITE].calendar
    assert cal.times_for("6A").cutoff.strftime("%H:%M") == "08:05"
    assert cal.times_for("6B").cutoff.strftime("%H:%M") == "07:55"
    assert cal.times_for("6A").dismissal.strftime("%H:%M") == "17:00"  # the class sets only its cut-off

    assert post(c, f"{CAL}/go-live", CAL, day="2026-11-26").status_code == 303
    assert "trước ngày bắt đầu dùng hệ thống" in verdict(c, "2026-11-25")
    assert post(c, f"{CAL}/go-live", CAL, day="").status_code == 303
    assert ctx.directories[SITE].calendar.config.go_live is None

    assert post(c, f"{CAL}/terms", CAL, name="Học kỳ II", start="2027-01-25", end="2027-05-25").status_code == 303
    assert [t.name for t in ctx.directories[SITE].calendar.config.terms] == ["Học kỳ I", "Học kỳ II"]

    v = version_of(ctx.db, SITE)
    bad = post(c, f"{CAL}/days", CAL, kind="holiday", name="Ngược", start="2026-12-10", end="2026-12-01")
    assert bad.status_code == 422 and "Ngày kết thúc trước ngày bắt đầu" in bad.text
    bad = post(c, f"{CAL}/days", CAL, kind="holiday", name="Nghỉ\u202e", start="2026-12-10", end="")
    assert bad.status_code == 422 and "ký tự điều khiển" in bad.text
    bad = post(c, f"{CAL}/times", CAL, scope="class", name="6A", cutoff="25:00", dismissal="")
    assert bad.status_code == 422 and "Giờ không hợp lệ" in bad.text
    assert post(c, f"{CAL}/terms/remove", CAL, key="2027-01-25|Học kỳ II").status_code == 303
    last = post(c, f"{CAL}/terms/remove", CAL, key="2026-09-05|Học kỳ I")
    assert last.status_code == 422 and "học kỳ cuối cùng" in last.text
    assert version_of(ctx.db, SITE) == v + 1  # only the accepted removal moved the version

    for role in ("teacher6a", "guard"):
        other = as_user(ctx, c, role)
        assert other.get(CAL).status_code == 403
        token = csrf_from(other.get(f"/s/{SITE}/today").text)
        r = other.post(f"{CAL}/days", data={"csrf_token": token, "kind": "holiday", "name": "x", "start": "2026-12-01"})
        assert r.status_code == 403


def test_a_running_notifier_follows_the_calendar_edit(web: tuple[WebContext, TestClient]) -> None:
    """A second LiveSchools, started as the notifier starts it (its own watcher: LISTEN/NOTIFY or a poll), hears
    of the holiday without a restart."""
    ctx, c = web
    notifier = LiveSchools(WebDb(ctx.db.url), ctx.cfg, poll_s=0.2).start(name="test-notifier-watch")
    heard: queue.Queue[SchoolState] = queue.Queue()
    notifier.subscribe(heard.put)
    try:
        assert notifier[SITE].calendar.is_school_day(date(2026, 12, 2))
        r = post(c, f"{CAL}/days", CAL, kind="holiday", name="Nghỉ đột xuất", start="2026-12-02", end="2026-12-03")
        assert r.status_code == 303
        state = heard.get(timeout=10)
        assert [h.name for h in state.calendar.holidays][-1] == "Nghỉ đột xuất"
        assert not notifier[SITE].calendar.is_school_day(date(2026, 12, 3))
    finally:
        notifier.stop()
        notifier.db.close()


# bulk and multi-day excuses -------------------------------------------------------------------------------------


def test_bulk_excuse_over_days_ahead_suppresses_absence_notices(
    web: tuple[WebContext, TestClient], store_url: str | None, tmp_path: Path
) -> None:
    ctx, c = web
    page = f"/s/{SITE}/class/6A"
    # Monday 23 … Sunday 29 Nov 2026 (today is Tuesday 24th): five school days, two of them in the future
    r = post(c, f"{page}/excuse-range", page, person_id=["an", "binh"], start="2026-11-23", end="2026-11-29",
             reason="Đi thi học sinh giỏi")  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("day=2026-11-23&excused=10")
    rows = ctx.db.query("SELECT person_id, day, reason, by_user FROM excuses WHERE site_id = ? ORDER BY day, person_id",
                        (SITE,))  # fmt: skip
    assert [(x["person_id"], x["day"]) for x in rows] == [
        (p, f"2026-11-{d}") for d in (23, 24, 25, 26, 27) for p in ("an", "binh")
    ]
    assert {(x["reason"], x["by_user"]) for x in rows} == {("Đi thi học sinh giỏi", "office")}
    action, detail = audit_actions(ctx)[-1]
    assert action == "excuse_range" and detail["people"] == ["an", "binh"] and len(detail["days"]) == 5

    assert "Đã ghi 10 ngày vắng có phép" in c.get(r.headers["location"]).text

    # Thursday 26th, after the cut-off, nobody arrived: an (excused ahead) gets no absence notice
    url = store_url or f"sqlite:///{tmp_path / 'centre.sqlite'}"
    conn, dialect = connect(url)
    try:
        day = date(2026, 11, 26)
        excused = excused_on(conn, dialect, SITE, day)
    finally:
        conn.close()
    assert excused == {"an", "binh"}
    d = ctx.directories[SITE]
    late = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
    assert "an" in {j.person_id for j in absence_jobs(d, day, late, set())}  # the notice that would go …
    assert "an" not in {j.person_id for j in absence_jobs(d, day, late, set(), excused)}  # … and does not


def test_bulk_excuse_refusals(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    page = f"/s/{SITE}/class/6A"
    weekend = post(c, f"{page}/excuse-range", page, person_id=["an"], start="2026-11-28", end="2026-11-29", reason="x")
    assert weekend.status_code == 422 and "không có ngày học nào" in weekend.text
    long = post(c, f"{page}/excuse-range", page, person_id=["an"], start="2026-09-07", end="2026-12-31", reason="x")
    assert long.status_code == 422 and "Tối đa 62 ngày" in long.text
    nobody = post(c, f"{page}/excuse-range", page, start="2026-11-23", end="2026-11-23", reason="x")
    assert nobody.status_code == 422 and "ít nhất một học sinh" in nobody.text
    other_class = post(c, f"{page}/excuse-range", page, person_id=["dung"], start="2026-11-23", end="2026-11-23",
                       reason="x")  # fmt: skip
    assert other_class.status_code == 404
    teacher = as_user(ctx, c, "teacher6a")
    assert post(teacher, f"{page}/excuse-range", page, person_id=["chi"], start="2026-11-23", end="2026-11-23",
                reason="Ốm").status_code == 303  # fmt: skip
    guard = as_user(ctx, c, "guard")
    token = csrf_from(guard.get(f"/s/{SITE}/today").text)
    r = guard.post(f"{page}/excuse-range", data={"csrf_token": token, "person_id": "an", "start": "2026-11-23",
                                                 "end": "2026-11-23", "reason": "x"})  # fmt: skip
    assert r.status_code == 403
    rows = ctx.db.query("SELECT person_id FROM excuses WHERE site_id = ?", (SITE,))
    assert [x["person_id"] for x in rows] == ["chi"]


# unknown cards --------------------------------------------------------------------------------------------------


def test_unknown_cards_masked_with_gate_and_school_names(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    with ctx.db.transaction() as tx:
        edits.set_gate_names(tx, SITE, {"main-in": GateName(vi="cổng chính", en="main gate")})
    ctx.directories.reload(SITE)
    now = datetime(2026, 11, 24, 0, 20, tzinfo=UTC)

    def tap(uid: str, at: datetime, person: str | None = None, decision: str = "denied") -> dict[str, Any]:
        e = checkin(person, at, decision=decision)
        e["card_uid"] = uid
        return e

    ctx.store.store_batch(
        [
            tap("0F00DEAD01", now),  # today
            tap("0F00DEAD02", now - timedelta(days=3)),  # this week
            tap("0F00DEAD03", now - timedelta(days=10)),  # older: never listed
            tap("0F00DEAD04", now, person="an"),  # a known student refused (e.g. not enrolled): not "unknown"
            tap("0F00A1B2C3", now, person="an", decision="granted"),
        ]
    )
    guard = as_user(ctx, c, "guard")
    today = guard.get(f"/s/{SITE}/unknown-cards")
    assert today.status_code == 200
    body = re.search(r'id="unknown-cards">(.*?)</table>', today.text, re.S)
    assert body
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td class=\"mask\">(.*?)</td></tr>", body.group(1))
    assert rows == [("24/11/2026 07:20:00", "cổng chính · Trường THCS Thử", "••••DEAD01")]
    week = guard.get(f"/s/{SITE}/unknown-cards?period=week").text
    assert "••••DEAD01" in week and "••••DEAD02" in week and "DEAD03" not in week and "DEAD04" not in week
    assert "0F00DEAD0" not in week  # never the whole UID
    en = as_user(ctx, c, "office")
    en.cookies.set("edge_lang", "en")
    assert "main gate · Trường THCS Thử" in en.get(f"/s/{SITE}/unknown-cards").text
    assert as_user(ctx, c, "teacher6a").get(f"/s/{SITE}/unknown-cards").status_code == 403


# the roster's template and export ---------------------------------------------------------------------------------


def test_export_uploads_back_as_no_change_and_vietnamese_numeric_card_warns(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    base = f"/s/{SITE}/roster"
    for fmt in ("xlsx", "csv"):
        data = c.get(f"{base}/export.{fmt}")
        assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
        token = csrf_from(c.get(base).text)
        page = c.post(f"{base}/preview", data={"csrf_token": token},
                      files={"roster": (f"r.{fmt}", data.content, "application/octet-stream")})  # fmt: skip
        assert page.status_code == 200, page.text
        assert page.text.count("Không thay đổi.") == 1 and 'id="roster-warnings"' not in page.text
    template = c.get(f"{base}/template.xlsx")
    assert template.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert as_user(ctx, c, "teacher6a").get(f"{base}/export.csv").status_code == 403

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Mã HS", "Họ và tên", "Lớp", "Số thẻ"])
    for pid, name, cls, uid in (("an", "Nguyễn Văn An", "6A", "0F00A1B2C3"), ("binh", "Trần Thị Bình", "6A", 12345678),
                                ("chi", "Lê Minh Chi", "6A", None), ("dung", "Phạm Dũng", "6B", "0F00A1B2C5"),
                                ("em", "Hoàng Em", "6B", None)):  # fmt: skip
        ws.append([pid, name, cls, uid])
    buf = io.BytesIO()
    wb.save(buf)
    token = csrf_from(c.get(base).text)
    page = c.post(f"{base}/preview", data={"csrf_token": token}, files={"roster": ("r.xlsx", buf.getvalue(), "x")})
    assert page.status_code == 200
    warned = re.search(r'id="roster-warnings".*?<tbody>(.*?)</tbody>', page.text, re.S)
    assert warned and '<td class="row">3</td>' in warned.group(1) and "Excel bỏ các số 0 ở đầu" in warned.group(1)
    assert page.text.index('id="roster-apply-top"') < page.text.index('id="changes-students"')
    assert 'id="roster-apply"' in page.text


# navigation -------------------------------------------------------------------------------------------------------

MAY_NOT = {
    "office": [f"/s/{SITE}/admin"],
    "teacher6a": [f"/s/{SITE}/gates", f"/s/{SITE}/unknown-cards", f"/s/{SITE}/roster", CAL, f"/s/{SITE}/class/6B"],
    "guard": [f"/s/{SITE}/reports", f"/s/{SITE}/roster", CAL, f"/s/{SITE}/class/6A"],
}
MUST = {
    "admin": ["nav-today", "nav-gates", "nav-unknown-cards", "nav-reports", "nav-roster", "nav-calendar", "nav-admin"],
    "office": ["nav-today", "nav-gates", "nav-unknown-cards", "nav-reports", "nav-roster", "nav-calendar"],
    "teacher6a": ["nav-today", "nav-class-6A", "nav-reports"],
    "guard": ["nav-today", "nav-gates", "nav-unknown-cards"],
}


def test_each_role_is_shown_exactly_what_it_may_open(tmp_path: Path) -> None:
    ctx, app = make_web(tmp_path)
    try:
        for username in USERS:
            with TestClient(app) as c:
                login(c, username)
                home = c.get(f"/s/{SITE}/today").text
                nav = re.search(r"<nav>(.*?)</nav>", home, re.S)
                assert nav
                links = dict(re.findall(r'<a href="([^"]+)" id="([^"]+)"', nav.group(1)))
                ids = set(links.values())
                assert set(MUST[username]) <= ids, (username, ids)
                for href in links:
                    assert c.get(href).status_code == 200, (username, href)
                for href in MAY_NOT.get(username, []):
                    assert href not in links, (username, href)
                    assert c.get(href).status_code in (403, 404), (username, href)
    finally:
        ctx.close()
        ctx.store.close()


def test_a_change_the_calendar_model_refuses_is_said_by_its_section(web: tuple[WebContext, TestClient]) -> None:
    """A change past the editor's own checks that the calendar's model still refuses: the office reads which
    section and that nothing was saved, in its language (pydantic's English goes to the log)."""
    ctx, _c = web
    before = version_of(ctx.db, SITE)
    with pytest.raises(ce.CalendarEditError) as refused, ctx.db.transaction() as tx:
        ce.apply_change(tx, SITE, lambda cal: {"cutoff": "99:99"})
    assert refused.value.key == "office.cal_invalid_times" and refused.value.fields == {}
    assert version_of(ctx.db, SITE) == before
