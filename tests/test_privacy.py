"""One retention policy and the leavers (#24 item 4), on SQLite and PostgreSQL: the daily run deletes check-ins,
notices, audit rows and spent codes past their periods; a student who left loses face templates (centre), card
binding and guardians' contacts (and push devices, app sessions) while their attendance is kept — or filed under
an anonymous id with `leavers: anonymise`; a second run has nothing to do; the Admin page shows the policy and the
last run; the record of processing is generated from central.yaml (CLI and page)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from edge.central.distribution.centre import CentreStore
from edge.central.parents import retention, sessions
from edge.central.school.state import load_guardians, version_of
from edge.central.web import audit
from edge.central.web.context import WebContext
from edge.central.web.enrolment import EnrolmentLink
from edge.config.central import RetentionConfig
from edge.devtools.postgres import PostgresServer
from tests.helpers import FACES
from tests.web_support import SCHOOL_MORNING, SITE, checkin, login, make_web

TODAY = date(2026, 11, 24)


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[WebContext, TestClient]]:
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    ctx, app = make_web(tmp_path, url)
    with TestClient(app) as c:
        yield ctx, c
    ctx.close()


def _leaves(ctx: WebContext, person_id: str, last_day: date) -> None:
    ctx.db.execute("UPDATE students SET enrolled_until = ? WHERE site_id = ? AND person_id = ?",
                   (last_day.isoformat(), SITE, person_id))  # fmt: skip


def test_the_daily_run_deletes_old_data_and_erases_leavers(web: tuple[WebContext, TestClient], tmp_path: Path) -> None:
    ctx, _ = web
    link = EnrolmentLink(CentreStore(tmp_path / "centre", bytes(range(32))))
    link.enrol(SITE, "an", (FACES / "obama_1.jpg").read_bytes())
    old = SCHOOL_MORNING - timedelta(days=500)
    ctx.store.store_batch([checkin("an", old), checkin("an", SCHOOL_MORNING - timedelta(days=3)), checkin("binh", old)])
    t = time.time()
    with ctx.db.transaction() as tx:
        for key, created in (("old", t - 200 * 86400), ("new", t - 86400)):
            tx.execute(
                "INSERT INTO notify_jobs (key, site_id, person_id, day, kind, guardian_id, channel, language, template,"
                " time, text, subject, status, created_at, next_at, phone) VALUES (?, ?, 'an', ?, 'arrived',"
                " 'an-g1', 'hook', 'vi', 'arrived', '07:00', 'An đã đến', '', 'sent', ?, ?, '+84912345678')",
                (key, SITE, f"2026-0{1 if key == 'old' else 2}-01", created, created),
            )
        audit.record(tx, "office", "excuse", {"old": True}, None, SITE, at=t - 800 * 86400)
    token = sessions.create(ctx.db, SITE, "an-g1", "phone")
    ctx.db.execute(
        "INSERT INTO push_subscriptions (endpoint, site_id, guardian_id, p256dh, auth, created_at)"
        " VALUES ('https://push.example/1', ?, 'an-g1', 'x', 'y', ?)",
        (SITE, t),
    )
    _leaves(ctx, "an", TODAY - timedelta(days=1))
    before = version_of(ctx.db, SITE)

    policy = RetentionConfig()
    assert retention.leavers(ctx.db, SITE, TODAY, policy) == ["an"]
    run = retention.enforce(ctx.db, policy, [SITE], TODAY, links={SITE: link})
    assert (run.checkins, run.notices, run.audit, run.leavers, run.errors) == (2, 1, 1, [f"{SITE}/an"], [])
    row = ctx.db.one("SELECT card_uid, name FROM students WHERE site_id = ? AND person_id = 'an'", (SITE,))
    assert row == {"card_uid": None, "name": "Nguyễn Văn An"}, "the card is unbound, the register keeps the name"
    assert [g.person_id for g in load_guardians(ctx.db, SITE)] == ["dung"]
    assert not link.status(SITE, "an").enrolled, "the face templates are deleted at the centre"
    assert ctx.db.query("SELECT 1 FROM push_subscriptions") == []
    assert sessions.lookup(ctx.db, token) is None
    assert [r["person_id"] for r in ctx.db.query("SELECT person_id FROM checkins")] == ["an"], "attendance kept"
    (job,) = ctx.db.query("SELECT key, phone FROM notify_jobs")
    assert job == {"key": "new", "phone": None}
    assert version_of(ctx.db, SITE) > before, "the gates' roster follows (the distributor republishes it)"
    erased = [x for x in audit.recent(ctx.db) if x["action"] == "leaver_erased"]
    assert erased[0]["detail"]["card_unbound"] and erased[0]["detail"]["guardians"] == 1
    # the next day: nothing left to erase
    again = retention.enforce(ctx.db, policy, [SITE], TODAY + timedelta(days=1), links={SITE: link})
    assert (again.checkins, again.leavers) == (0, [])
    last = retention.last_run(ctx.db)
    assert last is not None and last["detail"]["leavers"] == []


def test_anonymise_files_a_leavers_attendance_under_an_anonymous_id(web: tuple[WebContext, TestClient]) -> None:
    ctx, _ = web
    ctx.store.store_batch([checkin("binh", SCHOOL_MORNING - timedelta(days=3))])
    _leaves(ctx, "binh", TODAY - timedelta(days=1))
    policy = RetentionConfig(leavers="anonymise")
    assert retention.leavers(ctx.db, SITE, TODAY, policy) == ["binh"]
    run = retention.enforce(ctx.db, policy, [SITE], TODAY)
    anon = retention.anonymous_id(SITE, "binh")
    assert run.leavers == [f"{SITE}/binh"]
    assert [r["person_id"] for r in ctx.db.query("SELECT person_id FROM checkins")] == [anon]
    assert ctx.db.one("SELECT name FROM students WHERE person_id = 'binh'") == {"name": anon}
    assert retention.leavers(ctx.db, SITE, TODAY, policy) == []
    detail = next(x for x in audit.recent(ctx.db) if x["action"] == "leaver_erased")["detail"]
    assert detail["person_id"] == anon and detail["checkins_anonymised"] == 1


def test_admin_page_and_the_record_of_processing(tmp_path: Path) -> None:
    ctx, app = make_web(tmp_path)
    with TestClient(app) as c:
        login(c, "admin")
        page = c.get("/admin/users").text
        assert 'id="retention"' in page and "Lượt qua cổng: 400 ngày" in page and "Chưa chạy lần nào" in page
        retention.enforce(ctx.db, ctx.cfg.retention, [SITE], TODAY)
        assert "Lần chạy gần nhất" in c.get("/admin/users").text
        rec = c.get("/admin/privacy").text  # in the viewer's language: Vietnamese by default, English when chosen
        assert "Mẫu khuôn mặt (dữ liệu cá nhân nhạy cảm: sinh trắc học)" in rec and "<td>400 ngày;" in rec
        c.cookies.set("edge_lang", "en")
        rec = c.get("/admin/privacy").text
        assert "Face templates (sensitive personal data: biometric)" in rec and "<td>400 days;" in rec
        c.cookies.clear()
        login(c, "office")
        assert c.get("/admin/privacy").status_code == 403
    ctx.close()
    from edge.cli import cli

    cfg = tmp_path / "central.yaml"
    cfg.write_text(
        "schools:\n  - id: s1\n    name: Trường A\n    channels:\n"
        "      - {name: sms, type: sms_http, url: 'https://sms.example.vn/send'}\n"
        "retention: {checkins_days: 365, leavers: anonymise}\n"
    )
    r = CliRunner().invoke(cli, ["privacy", "record", "-c", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "## Trường A (s1)" in r.output and "| 365 days; a leaver's are unlinked" in r.output
    assert "SMS gateway sms.example.vn" in r.output
    r = CliRunner().invoke(cli, ["privacy", "record", "-c", str(cfg), "--lang", "vi"])
    assert r.exit_code == 0, r.output
    assert "| Dữ liệu | Mục đích | Ai được xem | Thời hạn lưu |" in r.output and "| 365 ngày; của học sinh" in r.output
    assert "cổng SMS sms.example.vn" in r.output and "gateway" not in r.output
    url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    # (not this machine's journal: a journalctl that is not there)
    args = ["privacy", "retention", "-c", str(cfg), "--store", url, "--journalctl", "no-such-journalctl"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["errors"] == [] and out["logs"] == "skipped: journalctl not found"
