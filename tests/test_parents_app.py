"""The parents' app (#24 item 1) through HTTP: sign-in with a code read from the local SMS gateway / mail server,
rate limits, a parent sees only their own child (pages, API, downloads), the parent's session is not a staff
session, a guardian removed from the roster loses access at the next request, devices are ended by the parent
and by the office, absence requests approved or declined by the form teacher (approved days are excused),
preferences written to the store with the school's version bumped, consent given and withdrawn in the app.
Store-touching tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.central.notify.hook import connect, excused_on
from edge.central.notify.planner import absence_jobs
from edge.central.notify.worker import Notifier
from edge.central.parents import consent
from edge.central.parents.signin import MAX_CODES_PER_HOUR, MAX_REQUESTS_PER_IP_HOUR
from edge.central.school.state import load_guardians, version_of
from edge.central.web import audit
from edge.devtools.postgres import PostgresServer
from tests.helpers import wait_until
from tests.parents_support import (
    AN_PHONE,
    AN_PHONE_E164,
    BINH_PHONE,
    DUNG_EMAIL,
    ParentsSchool,
    parents_school,
    sign_in,
)
from tests.web_support import SCHOOL_MORNING, SITE, checkin, csrf_from, login

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(params=["sqlite", "postgresql"])
def school(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ParentsSchool]:
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    with parents_school(tmp_path, url) as s:
        yield s


def test_sign_in_with_a_code_and_see_only_ones_own_child(school: ParentsSchool) -> None:
    school.ctx.store.store_batch([checkin("an", SCHOOL_MORNING - timedelta(minutes=18))])  # 07:12
    with TestClient(school.app) as c:
        r = c.get("/p/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/p/login"
        assert c.get("/p/api/children").status_code == 401

        # a wrong code is refused and counted; the right one opens a session with its own cookie
        page = c.get("/p/login").text
        r = c.post("/p/login", data={"address": AN_PHONE, "csrf_token": csrf_from(page)})
        assert "Đã gửi mã tới +84912345678" in r.text
        (sms,) = school.sms.received
        assert sms.body["to"] == AN_PHONE_E164 and "mã đăng nhập" in sms.body["text"]
        code = school.last_code(AN_PHONE_E164)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        r = c.post("/p/login/code", data={"address": AN_PHONE_E164, "code": wrong, "csrf_token": csrf_from(r.text)})
        assert r.status_code == 422 and "Mã không đúng" in r.text
        r = c.post("/p/login/code", data={"address": AN_PHONE_E164, "code": code, "csrf_token": csrf_from(r.text)})
        assert r.status_code == 200 and "Nguyễn Văn An" in r.text  # followed to /p/
        assert "edge_parent" in c.cookies and "edge_session" not in c.cookies
        # a code is spent once used
        again = {"address": AN_PHONE_E164, "code": code, "csrf_token": csrf_from(c.get("/p/login").text)}
        r = c.post("/p/login/code", data=again)
        assert r.status_code == 422 and "hết hạn" in r.text

        home = c.get("/p/").text
        assert "Đã đến lúc 07:12 tại cổng chính" in home
        assert "Trần Thị Bình" not in home and "Phạm Dũng" not in home
        assert [x["person_id"] for x in c.get("/p/api/children").json()["children"]] == ["an"]
        assert c.get("/p/api/child/an").json()["arrived_at"] == "07:12"
        # another family's child: the same 404 as a child that does not exist, on every route
        others = ("", "/data.json", "/data.html", "/data.pdf")
        for path in ("/p/api/child/binh", "/p/child/nobody", *(f"/p/child/binh{x}" for x in others)):
            assert c.get(path).status_code == 404, path
        token = CSRF.search(c.get("/p/child/an").text)
        assert token is not None
        for path, form in (("/p/child/binh/absence", {"first_day": "2026-11-25", "last_day": "2026-11-25",
                            "reason": "ốm"}), ("/p/child/binh/consent", {"action": "give"})):  # fmt: skip
            assert c.post(path, data={**form, "csrf_token": token.group(1)}).status_code == 404, path
        assert consent.current(school.ctx.db, SITE, "binh") is None
        assert c.get("/p/child/an/data.pdf").content.startswith(b"%PDF")
        data = c.get("/p/child/an/data.json").json()
        assert data["student"]["person_id"] == "an" and [x["person_id"] for x in data["checkins"]] == ["an"]
        assert data["checkins"][0]["gate"] == "main-in" and data["gates"] == {
            "main-in": {"vi": "cổng chính", "en": "main gate"}
        }, "the check-in keeps the gate's id, the document its names"
        assert "<td>cổng chính (Vào)</td>" in c.get("/p/child/an/data.html").text
        # a parent's cookie opens no staff page
        r = c.get(f"/s/{SITE}/today", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert c.get(f"/api/v1/schools/{SITE}/students/an").status_code == 401

    # the office takes the guardian off the roster: the next request is refused
    with TestClient(school.app) as c2:
        sign_in(c2, school, BINH_PHONE, "+84987654321")
        assert c2.get("/p/api/children").status_code == 200
        with school.ctx.db.transaction() as tx:
            tx.execute("DELETE FROM guardians WHERE site_id = ? AND person_id = ?", (SITE, "binh"))
        assert c2.get("/p/api/children").status_code == 401
        assert c2.get("/p/", follow_redirects=False).headers["location"] == "/p/login"


def test_codes_are_rate_limited_per_address_and_unknown_addresses_get_none(tmp_path: Path) -> None:
    with parents_school(tmp_path) as school, TestClient(school.app) as c:
        token = csrf_from(c.get("/p/login").text)
        for _ in range(MAX_CODES_PER_HOUR):
            assert c.post("/p/login", data={"address": DUNG_EMAIL, "csrf_token": token}).status_code == 200
        assert school.smtp.wait_for(MAX_CODES_PER_HOUR, 10)
        assert school.smtp.received[0].body["to"] == [DUNG_EMAIL] and school.smtp.received[0].body["tls"]
        assert "sign-in code" in str(school.smtp.received[0].body["text"]), "the guardian's language (en)"
        r = c.post("/p/login", data={"address": DUNG_EMAIL, "csrf_token": token})
        assert r.status_code == 422 and "quá nhiều mã" in r.text
        assert len(school.smtp.received) == MAX_CODES_PER_HOUR
        # the limit is the address's: another parent still gets a code
        assert c.post("/p/login", data={"address": AN_PHONE, "csrf_token": token}).status_code == 200
        for address in ("0911 111 111", "nobody@example.org", "not an address"):
            r = c.post("/p/login", data={"address": address, "csrf_token": token})
            assert r.status_code == 422, address
        assert len(school.sms.received) == 1
        assert c.post("/p/login", data={"address": AN_PHONE, "csrf_token": "forged"}).status_code == 403
        # one client trying number after number is stopped (known and unknown numbers count alike)
        tried = MAX_CODES_PER_HOUR + 1 + 2  # so far: 5 + 1 codes for known addresses, 2 unknown addresses
        for i in range(MAX_REQUESTS_PER_IP_HOUR - tried):
            r = c.post("/p/login", data={"address": f"0912 000 {i:03d}", "csrf_token": token})
            assert r.status_code == 422 and "không có số" in r.text, i
        r = c.post("/p/login", data={"address": "0912 000 999", "csrf_token": token})
        assert r.status_code == 422 and "quá nhiều mã" in r.text
        # five wrong codes spend the code
        code = school.last_code(AN_PHONE_E164)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            c.post("/p/login/code", data={"address": AN_PHONE_E164, "code": wrong, "csrf_token": token})
        r = c.post("/p/login/code", data={"address": AN_PHONE_E164, "code": code, "csrf_token": token})
        assert r.status_code == 422 and "quá nhiều lần" in r.text


def test_devices_are_ended_by_the_parent_and_by_the_office(tmp_path: Path) -> None:
    with parents_school(tmp_path) as school, TestClient(school.app) as phone, TestClient(school.app) as tablet:
        sign_in(phone, school, AN_PHONE, AN_PHONE_E164)
        (phone_id,) = re.findall(r'name="device" value="([0-9a-f]+)"', phone.get("/p/settings").text)
        sign_in(tablet, school, AN_PHONE, AN_PHONE_E164)
        page = phone.get("/p/settings").text
        ids = re.findall(r'name="device" value="([0-9a-f]+)"', page)
        assert len(ids) == 2 and phone_id in ids and page.count("thiết bị này") == 1
        (tablet_id,) = [i for i in ids if i != phone_id]
        r = phone.post("/p/devices/end", data={"device": tablet_id, "csrf_token": csrf_from(page)})
        assert r.status_code == 200
        assert tablet.get("/p/api/children").status_code == 401
        assert phone.get("/p/api/children").status_code == 200
        # the office ends every device of the guardian from the Student page
        with TestClient(school.app) as office:
            login(office, "office")
            student = office.get(f"/s/{SITE}/student/an").text
            assert 'id="parent-devices"' in student
            r = office.post(f"/s/{SITE}/student/an/parent-devices/end", data={"csrf_token": csrf_from(student)})
            assert r.status_code == 200
        assert phone.get("/p/api/children").status_code == 401
        ends = [x for x in audit.recent(school.ctx.db) if x["action"] == "parent_devices_end"]
        assert ends and ends[0]["username"] == "office"


def test_absence_request_approved_by_the_form_teacher_excuses_the_days(school: ParentsSchool) -> None:
    ctx = school.ctx
    with TestClient(school.app) as parent, TestClient(school.app) as teacher:
        sign_in(parent, school, AN_PHONE, AN_PHONE_E164)
        token = csrf_from(parent.get("/p/child/an").text)
        form = {"first_day": "2026-11-25", "last_day": "2026-11-27", "reason": "Cháu bị sốt", "csrf_token": token}
        r = parent.post("/p/child/an/absence", data=form)
        assert r.status_code == 200 and 'id="absence-sent"' in r.text and "Đang chờ" in r.text
        bad = parent.post("/p/child/an/absence", data={**form, "last_day": "2026-11-24"})
        assert bad.status_code == 422 and "trước ngày bắt đầu" in bad.text
        r = parent.post("/p/child/an/absence", data={**form, "first_day": "2026-11-28", "last_day": "2026-11-29"})
        assert r.status_code == 422 and "Không có ngày học" in r.text  # a weekend

        login(teacher, "teacher6a")
        page = teacher.get(f"/s/{SITE}/class/6A").text
        assert 'id="absence-requests"' in page and "Cháu bị sốt" in page
        rid = re.search(r'id="approve-(\d+)"', page)
        assert rid is not None
        r = teacher.post(
            f"/s/{SITE}/class/6A/absence-request/{rid.group(1)}",
            data={"decision": "approve", "csrf_token": csrf_from(page)},
        )
        assert r.status_code == 200 and "Đã đồng ý" in r.text
        days = [x["day"] for x in ctx.db.query("SELECT day FROM excuses WHERE person_id = 'an' ORDER BY day")]
        assert days == ["2026-11-25", "2026-11-26", "2026-11-27"]
        # the notifier's absence pass on such a day sends An's guardians nothing (Bình's, absent too, get theirs)
        d = ctx.directories.get(SITE)
        assert d is not None
        conn, dialect = connect(ctx.db.url)
        try:
            excused = excused_on(conn, dialect, SITE, date(2026, 11, 26))
        finally:
            conn.close()
        after_cutoff = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
        absent = {j.person_id for j in absence_jobs(d, date(2026, 11, 26), after_cutoff, (), excused)}
        assert "an" not in absent and "binh" in absent
        again = teacher.post(
            f"/s/{SITE}/class/6A/absence-request/{rid.group(1)}",
            data={"decision": "decline", "csrf_token": csrf_from(page)},
        )
        assert again.status_code == 409, "a decided request stays decided"
        assert "Đã đồng ý" in parent.get("/p/child/an").text  # the parent sees the decision
        # ...and is told it on their channel, through the notifier's job table
        told = ctx.db.query("SELECT guardian_id, channel, text FROM notify_jobs WHERE kind LIKE ?", ("request-%",))
        assert [(x["guardian_id"], x["channel"]) for x in told] == [("an-g1", "sms")]
        assert "đơn xin phép nghỉ của Nguyễn Văn An (25/11–27/11) đã được đồng ý" in told[0]["text"]
        d = ctx.directories.get(SITE)
        assert d is not None
        url = ctx.db.url
        notifier = Notifier(ctx.cfg.notify, {SITE: d}, lambda: connect(url))
        notifier.start()
        try:  # the real notifier sends it to the parent's phone (the local SMS gateway)
            wait_until(lambda: any("đã được đồng ý" in str(m.body["text"]) for m in school.sms.received), 30, "SMS")
        finally:
            notifier.stop()
        (sms,) = [m for m in school.sms.received if "đã được đồng ý" in str(m.body["text"])]
        assert sms.body["to"] == AN_PHONE_E164

        # a declined request excuses nothing
        parent.post("/p/child/an/absence", data={**form, "first_day": "2026-11-30", "last_day": "2026-11-30"})
        page = teacher.get(f"/s/{SITE}/class/6A").text
        rid2 = re.search(r'id="decline-(\d+)"', page)
        assert rid2 is not None
        teacher.post(f"/s/{SITE}/class/6A/absence-request/{rid2.group(1)}",
                     data={"decision": "decline", "csrf_token": csrf_from(page)})  # fmt: skip
        assert "Không đồng ý" in parent.get("/p/child/an").text
        assert len(ctx.db.query("SELECT day FROM excuses WHERE person_id = 'an'")) == 3
        actions = [x["action"] for x in audit.recent(ctx.db)]
        for a in ("absence_request", "absence_request_approved", "absence_request_declined"):
            assert a in actions, a
    # a teacher of another class cannot decide it
    with TestClient(school.app) as guard:
        login(guard, "guard")
        r = guard.post(f"/s/{SITE}/class/6A/absence-request/1", data={"decision": "approve", "csrf_token": "x"})
        assert r.status_code == 403


def test_preferences_go_to_the_store_and_consent_is_given_and_withdrawn_in_the_app(school: ParentsSchool) -> None:
    ctx = school.ctx
    before = version_of(ctx.db, SITE)
    with TestClient(school.app) as c:
        sign_in(c, school, AN_PHONE, AN_PHONE_E164)
        page = c.get("/p/settings").text
        r = c.post("/p/settings", data={"channel": "mail", "language": "en", "csrf_token": csrf_from(page)})
        assert r.status_code == 200 and "Saved." in r.text, r.text
        (g,) = [g for g in load_guardians(ctx.db, SITE) if g.person_id == "an"]
        assert (g.channel, g.language) == ("mail", "en")
        assert version_of(ctx.db, SITE) > before, "the notifier follows the version"

        def followed() -> bool:  # the processes' live view of the school (LiveSchools) has the new channel
            d = ctx.directories.get(SITE)
            return d is not None and [g.channel for g in d.guardians["an"]] == ["mail"]

        wait_until(followed, 15, "the live school view follows the new channel")
        r = c.post("/p/settings", data={"channel": "fax", "language": "en", "csrf_token": csrf_from(page)})
        assert r.status_code == 422

        child = c.get("/p/child/an").text
        assert "You have not consented" in child
        r = c.post("/p/child/an/consent", data={"action": "give", "csrf_token": csrf_from(child)})
        assert r.status_code == 200 and "Consent recorded." in r.text
        rec = consent.current(ctx.db, SITE, "an")
        assert rec is not None and rec.given and rec.method == "app" and rec.recorded_by == "guardian:an-g1"
        r = c.post("/p/child/an/consent", data={"action": "withdraw", "csrf_token": csrf_from(child)})
        assert r.status_code == 200 and "Withdrawn" in r.text
        rec = consent.current(ctx.db, SITE, "an")
        assert rec is not None and not rec.given and rec.given_by == "Nguyễn Văn Ba"


def test_every_parents_route_needs_a_parent_session_unless_public(tmp_path: Path) -> None:
    """Every route of the parents' app but signing in and the installable app's files answers a request without
    a parent session (and with a staff session) with 303 to /p/login or 401."""
    from fastapi.routing import APIRoute

    from edge.central.web.routes import parents, parents_api, parents_signin

    open_paths = {"/p/login", "/p/login/code", "/p/manifest.webmanifest", "/p/sw.js"}
    routes = [
        r
        for module in (parents, parents_api, parents_signin)
        for r in [*module.public.routes, *module.signed_in.routes]
        if isinstance(r, APIRoute)
    ]
    assert {r.path for r in routes if isinstance(r, APIRoute)} >= open_paths
    with parents_school(tmp_path) as school, TestClient(school.app) as c:
        login(c, "admin")  # a staff session opens nothing here
        checked = 0
        for route in routes:
            assert isinstance(route, APIRoute)
            if route.path in open_paths:
                continue
            path = route.path.replace("{person_id}", "an")
            for method in route.methods or ():
                r = c.request(method, path, follow_redirects=False)
                assert (r.status_code, r.headers.get("location")) in ((303, "/p/login"), (401, None)), (method, path)
                checked += 1
        assert checked >= 14
