"""Held absence notices on the web app (#20), on SQLite and PostgreSQL: the "gates down" banner and the held batches
on every office page (not a teacher's), the Held notices page with the reasons and the students in both languages,
release and drop by the office (once, audited; refused to a teacher), and the same in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.central.gates import holds
from edge.central.gates.judge import Reason
from edge.central.notify.planner import JobSpec
from edge.central.web import audit, gate_alarm
from tests.gate_evidence import vouch
from tests.web_support import (
    SCHOOL_MORNING,
    SITE,
    browser,
    csrf_from,
    live_server,
    login,
    make_web,
    password_of,
    screenshot,
)

DAY = SCHOOL_MORNING.date()


def _job(person: str, guardian: str) -> JobSpec:
    return JobSpec(
        f"{SITE}/{person}/{DAY}/absent/{guardian}", SITE, person, DAY, "absent", guardian, "hook", "vi", "absent",
        "07:45", "…", "…", None, None, None,
    )  # fmt: skip


def _hold(ctx: Any, cutoff: str = "07:45") -> int:
    """A batch the notifier held: gateway gw-1 offline since 07:00, three students."""
    since = (SCHOOL_MORNING - timedelta(minutes=30)).timestamp()
    with ctx.db.transaction() as tx:
        return holds.hold(
            tx, SITE, DAY, cutoff, [Reason("gateway_down", "gw-1", since, None, "offline")],
            [_job("chi", "chi-g1"), _job("em", "em-g1"), _job("an", "an-g1")],
            {"chi": ("Lê Minh Chi", "6A"), "em": ("Hoàng Em", "6B"), "an": ("Nguyễn Văn An", "6A")},
        )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, TestClient]]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").fresh_database()
    ctx, app = make_web(tmp_path, url)
    gate_alarm._cache.clear()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ctx, client
    ctx.close()
    ctx.store.close()


def _healthy(ctx: Any) -> None:
    now = ctx.clock().timestamp()
    with ctx.db.connection() as conn:
        vouch(conn, ctx.db.engine, SITE, ["gw-1"], now - 3600, now)
    gate_alarm._cache.clear()


def test_banner_on_every_office_page_while_the_gates_are_down_or_a_batch_is_held(web: tuple[Any, TestClient]) -> None:
    ctx, c = web
    login(c, "office")
    page = c.get(f"/s/{SITE}/reports").text  # nothing vouches for the gates: unknown is down
    assert f'id="gate-alarm-{SITE}"' in page and "trường chưa đăng ký thiết bị cổng nào" in page
    _healthy(ctx)
    assert "gate-alarm" not in c.get(f"/s/{SITE}/today").text
    _hold(ctx)
    gate_alarm._cache.clear()
    for path in (f"/s/{SITE}/today", f"/s/{SITE}/reports", f"/s/{SITE}/roster"):
        html = c.get(path).text
        assert f'id="holds-banner-{SITE}"' in html and f'href="/s/{SITE}/holds"' in html, path
        assert "1 đợt thông báo vắng mặt đang bị giữ lại" in html
    login(c, "teacher6a")
    assert "gate-alarm" not in c.get(f"/s/{SITE}/today").text


def test_held_page_lists_reasons_and_students_in_both_languages(web: tuple[Any, TestClient]) -> None:
    ctx, c = web
    _healthy(ctx)
    hold_id = _hold(ctx)
    login(c, "office")
    html = c.get(f"/s/{SITE}/holds").text
    assert f'id="hold-{hold_id}" data-status="held"' in html
    assert "thiết bị gw-1: Mất kết nối từ 07:00 đến bây giờ" in html
    assert "Lê Minh Chi" in html and "Hoàng Em" in html and "3 học sinh, 3 thông báo" in html
    assert "<td>Nguyễn Văn Ba</td>" in html  # An's guardian, by name from the store
    assert "<td>em-g1</td>" in html  # one the store does not know (any more) by id
    c.cookies.set("edge_lang", "en")
    html = c.get(f"/s/{SITE}/holds").text
    assert "gateway gw-1 Offline from 07:00 to now" in html and "Release (each student judged again)" in html
    login(c, "teacher6a")
    assert c.get(f"/s/{SITE}/holds").status_code == 403


def test_release_and_drop_are_decided_once_and_audited(web: tuple[Any, TestClient]) -> None:
    ctx, c = web
    first, second = _hold(ctx, "07:45"), _hold(ctx, "08:00")
    login(c, "teacher6a")
    token = csrf_from(c.get(f"/s/{SITE}/today").text)
    assert c.post(f"/s/{SITE}/holds/{first}/release", data={"csrf_token": token}).status_code == 403
    login(c, "office")
    token = csrf_from(c.get(f"/s/{SITE}/holds").text)
    r = c.post(f"/s/{SITE}/holds/{first}/release", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert c.post(f"/s/{SITE}/holds/{first}/drop", data={"csrf_token": token}).status_code == 409
    assert (
        c.post(f"/s/{SITE}/holds/{second}/drop", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    )
    assert c.post(f"/s/{SITE}/holds/999/drop", data={"csrf_token": token}).status_code == 404
    assert c.post(f"/s/{SITE}/holds/{second}/release", data={}).status_code == 403  # no CSRF token
    with ctx.db.transaction() as tx:
        got = {b.id: (b.status, b.decided_by) for b in holds.batches(tx, SITE)}
    assert got == {first: ("releasing", "office"), second: ("dropped", "office")}
    rows = [(r["action"], r["username"], r["detail"]["hold"]) for r in audit.recent(ctx.db) if "hold" in r["action"]]
    assert sorted(rows) == [("absence_hold_drop", "office", second), ("absence_hold_release", "office", first)]


@pytest.mark.needs("chromium")
def test_the_office_releases_a_held_batch_in_a_browser(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    ctx, app = make_web(tmp_path)
    gate_alarm._cache.clear()
    _healthy(ctx)
    hold_id = _hold(ctx)
    try:
        with live_server(app, ctx) as srv, browser(tmp_path) as drv:
            wait = WebDriverWait(drv, 20)
            drv.get(f"{srv.url}/login")
            drv.find_element(By.NAME, "username").send_keys("office")
            drv.find_element(By.NAME, "password").send_keys(password_of("office"))
            drv.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            wait.until(ec.url_contains("/today"))
            banner = wait.until(ec.presence_of_element_located((By.ID, f"holds-banner-{SITE}")))
            banner.find_element(By.LINK_TEXT, "Xem xét").click()
            wait.until(ec.url_contains("/holds"))
            screenshot(drv, tmp_path, "holds")
            drv.find_element(By.CSS_SELECTOR, f"#hold-{hold_id} button.release").click()
            wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'#hold-{hold_id}[data-status="releasing"]')))
        assert [r["detail"]["hold"] for r in audit.recent(ctx.db, action="absence_hold_release")] == [hold_id]
    finally:
        ctx.close()
        ctx.store.close()
