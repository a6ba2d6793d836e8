"""Accounts (#20 item 5): a school and classes are checked against the store, spelt as the roster writes them
(`--class 6b` is refused when the class is 6B, `--site no-such-school` too); role, classes and password change
from the CLI and from the Admin page; a new account defaults to the least privilege (a teacher with no classes:
no pupil, no gate). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from edge.central.school import edits
from edge.central.store import open_store
from edge.central.web import audit
from edge.central.web.db import WebDb
from edge.cli import cli
from edge.devtools.postgres import PostgresServer
from edge.roster import Person
from tests.web_support import SITE, csrf_from, login, make_web, password_of

PEOPLE = [
    Person("an", "Nguyễn Văn An", "6A", None),
    Person("dung", "Phạm Dũng", "6B", None),
]


def seed(url: str) -> None:
    """The school and its roster in the store, as the roster import writes them (web_support's classes)."""
    open_store(url).close()
    db = WebDb(url)
    try:
        with db.transaction() as tx:
            edits.upsert_school(tx, SITE, name="Trường THCS Thử", timezone="Asia/Ho_Chi_Minh")
            edits.replace_students(tx, SITE, PEOPLE, today=date(2026, 11, 2))
    finally:
        db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    else:
        url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    seed(url)
    return url


def edge(*args: str, stdin: str = "") -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["server", "user", *args], input=stdin)
    return r.exit_code, r.output


def test_cli_checks_scope_defaults_to_least_privilege_and_changes_accounts(store_url: str) -> None:
    s = ("--store", store_url)
    code, out = edge("add", *s, "--site", SITE, "--class", "6b", "--password-stdin", "co.ha", stdin="a-long-password\n")
    assert code == 2 and "class '6b' is not in school test-school: did you mean '6B'?" in out
    code, out = edge("add", *s, "--site", "no-such-school", "--password-stdin", "x1", stdin="a-long-password\n")
    assert code == 2 and "school 'no-such-school' is not in the store" in out
    code, out = edge("add", *s, "--site", SITE, "--password-stdin", "co.ha", stdin="a-long-password\n")
    assert code == 0, out
    assert "added co.ha (teacher)" in out, "no --role: a teacher with no classes"
    code, out = edge("set", *s, "co.ha", "--class", "6B")
    assert code == 0 and "co.ha: teacher 6B" in out
    code, out = edge("set", *s, "co.ha", "--class", "6a")
    assert code == 2 and "did you mean '6A'" in out
    code, out = edge("set", *s, "co.ha", "--role", "office")
    assert code == 0 and "co.ha: office (school test-school)" in out, "an office sees every class: none listed"
    code, out = edge("set", *s, "co.ha", "--role", "guard", "--class", "6B")
    assert code == 2 and "classes are a teacher's" in out
    code, out = edge("set", *s, "nobody", "--role", "guard")
    assert code == 2 and "no user 'nobody'" in out
    code, out = edge("set", *s, "co.ha")
    assert code == 2 and "nothing to change" in out
    code, out = edge("passwd", *s, "--password-stdin", "co.ha", stdin="another-long-password\n")
    assert code == 0, out
    db = WebDb(store_url)
    try:
        from edge.central.web.accounts import Accounts

        assert Accounts(db).authenticate("co.ha", "another-long-password") is not None
        changes = [r["detail"] for r in audit.recent(db, action="user_change")]
    finally:
        db.close()
    assert changes[0] == {"user": "co.ha", "role": ["teacher", "office"], "classes": [["6B"], []]}


@pytest.fixture
def web(store_url: str, tmp_path: Path) -> Iterator[tuple[Any, TestClient]]:
    ctx, app = make_web(tmp_path, store_url)
    with TestClient(app) as client:
        yield ctx, client
    ctx.close()


def test_admin_page_adds_changes_and_resets(web: tuple[Any, TestClient]) -> None:
    ctx, c = web
    login(c, "admin")
    page = c.get("/admin/users")
    token = csrf_from(page.text)
    assert '<option value="teacher" selected>Giáo viên</option>' in page.text, "the form's default: least privilege"
    form = {"csrf_token": token, "username": "co.hoa", "classes": "6b", "site_id": SITE, "password": "hoa-password-1"}
    bad = c.post("/admin/users", data=form)
    assert bad.status_code == 422 and "Không thực hiện được" in bad.text and "did you mean &#39;6B&#39;" in bad.text
    assert c.post("/admin/users", data={**form, "classes": ""}, follow_redirects=False).status_code == 303
    user = ctx.accounts.get("co.hoa")
    assert user.role == "teacher" and user.classes == (), "no role given: a teacher with no classes"

    # the teacher logs in and sees no class; then gets 6B, and a session that lost a class is ended
    other = TestClient(c.app)
    login(other, "co.hoa", "hoa-password-1")
    assert other.get(f"/s/{SITE}/class/6B").status_code == 403
    r = c.post("/admin/users/co.hoa/change", data={"csrf_token": token, "role": "teacher", "classes": "6B"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and ctx.accounts.get("co.hoa").classes == ("6B",)
    assert other.get(f"/s/{SITE}/class/6B").status_code == 200, "a class given: the session goes on"
    r = c.post("/admin/users/co.hoa/change", data={"csrf_token": token, "role": "guard", "classes": ""},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and ctx.accounts.get("co.hoa").role == "guard"
    assert other.get(f"/s/{SITE}/class/6B", follow_redirects=False).status_code in (303, 401), "logged out"
    r = c.post("/admin/users/co.hoa/change", data={"csrf_token": token, "role": "teacher", "classes": "6a"})
    assert r.status_code == 422 and "did you mean &#39;6A&#39;" in r.text
    r = c.post("/admin/users/admin/change", data={"csrf_token": token, "role": "teacher", "classes": "6A"})
    assert r.status_code == 422 and ctx.accounts.get("admin").role == "admin", "no one demotes themselves"

    r = c.post("/admin/users/co.hoa/password", data={"csrf_token": token, "password": "short"})
    assert r.status_code == 422
    r = c.post("/admin/users/co.hoa/password", data={"csrf_token": token, "password": "a-new-hoa-password"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert ctx.accounts.authenticate("co.hoa", "a-new-hoa-password") is not None
    assert c.post("/admin/users/nobody/password", data={"csrf_token": token, "password": "x" * 12}).status_code == 404
    ctx.accounts.add("other.t", "other-password-1", "teacher", site_id="other-school")
    assert c.post("/admin/users/other.t/password", data={"csrf_token": token, "password": "x" * 12}).status_code == 403
    actions = [(r["action"], r["detail"].get("user")) for r in audit.recent(ctx.db, 20)]
    assert ("user_change", "co.hoa") in actions and ("user_passwd", "co.hoa") in actions
    login(c, "office", password_of("office"))
    assert c.post("/admin/users/co.hoa/change", data={"csrf_token": token, "role": "admin"}).status_code == 403
