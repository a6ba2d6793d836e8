"""Admin pages (#10): accounts added and disabled from the browser with the same rules as the CLI, every change
audited; the audit log page; only admins get in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.central.web import audit
from tests.web_support import SITE, csrf_from, login, make_web


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[Any, TestClient]]:
    ctx, app = make_web(tmp_path)
    with TestClient(app) as client:
        yield ctx, client
    ctx.close()


def test_admin_adds_and_disables_an_account(web: tuple[Any, TestClient]) -> None:
    ctx, c = web
    login(c, "admin")
    page = c.get("/admin/users")
    assert page.status_code == 200 and 'id="user-teacher6a"' in page.text
    token = csrf_from(page.text)
    form = {"csrf_token": token, "username": "co.hoa", "role": "teacher", "classes": "6B", "site_id": SITE,
            "password": "hoa-password-1"}  # fmt: skip
    assert c.post("/admin/users", data=form, follow_redirects=False).status_code == 303
    user = ctx.accounts.get("co.hoa")
    assert user is not None and user.role == "teacher" and user.classes == ("6B",) and user.site_id == SITE
    bad = c.post("/admin/users", data={**form, "username": "co.lan", "classes": "6b"})
    assert bad.status_code == 422 and "did you mean" in bad.text, "classes as the roster spells them"
    short = c.post("/admin/users", data={**form, "username": "co.mai", "password": "short"})
    assert short.status_code == 422 and ctx.accounts.get("co.mai") is None
    assert c.post("/admin/users", data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 403
    assert c.post("/admin/users/co.hoa/disable", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert ctx.accounts.get("co.hoa").disabled
    refused = c.post("/admin/users/admin/disable", data={"csrf_token": token})
    assert refused.status_code == 422 and not ctx.accounts.get("admin").disabled
    assert c.post("/admin/users/nobody/disable", data={"csrf_token": token}).status_code == 404
    actions = [(r["action"], r["username"], r["detail"].get("user")) for r in audit.recent(ctx.db, 10)]
    assert ("user_add", "admin", "co.hoa") in actions and ("user_disable", "admin", "co.hoa") in actions
    log = c.get("/admin/audit")
    assert log.status_code == 200 and "user_disable" in log.text and "co.hoa" in log.text


@pytest.mark.parametrize("username", ["office", "teacher6a", "guard"])
def test_only_admins_get_in(web: tuple[Any, TestClient], username: str) -> None:
    _ctx, c = web
    login(c, username)
    assert c.get("/admin/users").status_code == 403
    assert c.get("/admin/audit").status_code == 403
    token = csrf_from(c.get("/login").text)
    r = c.post("/admin/users", data={"csrf_token": token, "username": "x9", "role": "admin", "password": "p" * 12})
    assert r.status_code == 403


def test_a_school_admin_sees_only_that_schools_accounts_and_audit_rows(web: tuple[Any, TestClient]) -> None:
    """Review M2: another school's staff list and audit rows (excuse reasons, addresses) are not theirs."""
    ctx, c = web
    ctx.accounts.add("other.teacher", "other-password-1", "teacher", site_id="other-school", classes=("6A",))
    ctx.accounts.add("district", "district-password-1", "admin")  # no school: every school
    audit.record(ctx.db, "other.teacher", "excuse", {"reason": "other-school-secret"}, "192.0.2.8", "other-school")
    audit.record(ctx.db, "office", "excuse", {"reason": "our-own-row"}, "192.0.2.9", SITE)
    login(c, "admin")  # the admin of test-school
    users = c.get("/admin/users").text
    assert 'id="user-teacher6a"' in users and "other.teacher" not in users and 'id="user-district"' not in users
    rows = c.get("/admin/audit").text
    assert "our-own-row" in rows and "other-school-secret" not in rows and "192.0.2.8" not in rows
    login(c, "district", "district-password-1")
    assert "other.teacher" in c.get("/admin/users").text
    assert "other-school-secret" in c.get("/admin/audit").text
