"""Staff accounts and sessions of the web app (#10): login per role, wrong password, rate limiting, expired and
ended sessions, disabled users, CSRF, API tokens, every route behind a login."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from edge.central.web import audit
from edge.central.web.accounts import AccountError, User
from edge.central.web.deps import SESSION_COOKIE, can_see_class, can_see_school
from edge.central.web.ratelimit import Gate, LoginLimiter
from edge.central.web.sessions import digest
from tests.web_support import SITE, USERS, csrf_from, free_port, login, make_web, password_of


@pytest.fixture
def web(tmp_path: Path) -> Any:
    ctx, app = make_web(tmp_path)
    with TestClient(app) as client:
        yield ctx, client
    ctx.close()


@pytest.mark.parametrize(
    ("username", "landing"),
    [("admin", "today"), ("office", "today"), ("teacher6a", "today"), ("guard", "gates")],
)
def test_each_role_logs_in_and_lands_on_its_page(web: Any, username: str, landing: str) -> None:
    ctx, c = web
    r = login(c, username)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = c.get("/", follow_redirects=False)
    assert home.headers["location"] == f"/s/{SITE}/{landing}"
    assert c.get(home.headers["location"]).status_code == 200
    token = c.cookies.get(SESSION_COOKIE)
    row = ctx.db.one("SELECT token_hash FROM web_sessions")
    assert row["token_hash"] == digest(token) and token not in str(row), "only the token's sha256 is stored"
    assert audit.recent(ctx.db, action="login")[0]["username"] == username


def test_secure_cookie_by_default(tmp_path: Path) -> None:
    from edge.central.web.context import WebSettings

    ctx, app = make_web(tmp_path, settings=WebSettings())
    with TestClient(app, base_url="https://testserver") as c:
        r = login(c, "office")
        assert "Secure" in r.headers["set-cookie"]
    ctx.close()


def test_wrong_password_and_unknown_user_get_the_same_answer(web: Any) -> None:
    ctx, c = web
    a = login(c, "office", "wrong-password-123")
    b = login(c, "nobody", "wrong-password-123")
    assert a.status_code == b.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in a.text and "Sai tên đăng nhập hoặc mật khẩu" in b.text
    assert SESSION_COOKIE not in a.headers.get("set-cookie", "")
    assert [e["detail"]["username"] for e in audit.recent(ctx.db, action="login_failed")] == ["nobody", "office"]


def test_login_is_locked_per_user_and_address_with_a_clear_message(web: Any) -> None:
    ctx, c = web
    for _ in range(ctx.limiter.per_pair):
        assert login(c, "teacher6a", "not-the-password").status_code == 401
    r = login(c, "teacher6a")  # the right password, but too late from this address
    assert r.status_code == 429
    assert re.search(r"Thử lại sau \d+ phút", r.text)
    assert login(c, "office").status_code == 303, "another user from the same address is not locked out"
    with TestClient(c.app, client=("10.0.0.7", 4000)) as elsewhere:
        assert login(elsewhere, "teacher6a").status_code == 303, "the lock is for that name from that address only"


def test_random_names_from_one_address_do_not_lock_the_school_out(web: Any) -> None:
    """Behind a proxy every staff member may share one address: failures per address only slow down."""
    ctx, c = web
    ctx.limiter = LoginLimiter(slow_ip_after=3, first_delay_s=0.01, max_delay_s=0.05)
    for i in range(25):
        assert login(c, f"random{i}", "guess-guess-guess").status_code == 401
    assert login(c, "guard").status_code == 303, "the right password still works from the shared address"
    gate = ctx.limiter.begin("someone", "testclient")
    assert 0 < gate.delay_s <= 0.05 and gate.locked_s == 0


def test_limiter_records_before_the_hash_and_delays_progressively() -> None:
    now = [0.0]
    lim = LoginLimiter(per_pair=3, slow_user_after=2, first_delay_s=1.0, max_delay_s=4.0, clock=lambda: now[0])
    gates = [lim.begin("amy", "1.1.1.1") for _ in range(3)]  # three concurrent attempts: none has finished
    assert [g.locked_s for g in gates] == [0, 0, 0] and lim.begin("amy", "1.1.1.1").locked_s > 0
    # other addresses: slower, and one after the other (each waits its delay after the one before: a rate)
    # (the third attempt above was already 1 s behind: 1 + 2, then + 4, + 4)
    assert [lim.begin("amy", f"2.2.2.{i}").delay_s for i in range(3)] == [3.0, 7.0, 11.0]
    lim.succeeded("amy", "3.3.3.3")
    assert lim.begin("amy", "1.1.1.1").locked_s > 0, "a success elsewhere does not lift this address's lock"
    now[0] = 901.0
    assert lim.begin("amy", "1.1.1.1") == Gate()


def test_concurrent_logins_beyond_the_hash_slots_wait_briefly_then_are_answered_busy(
    web: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, c = web
    tries: list[bool] = []
    take: Callable[..., bool] = ctx.limiter.try_verify_slot

    def counted(ip: str = "") -> bool:
        tries.append(took := take(ip))
        return took

    monkeypatch.setattr(ctx.limiter, "try_verify_slot", counted)
    assert take() and take()  # two hashes already running, and none ends
    try:
        r = login(c, "office")
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert "busy" in r.text or "bận" in r.text
        assert len(tries) > 1 and not any(tries), "it waited for a slot (asked again) before answering busy"
        # a slot freed while a login waits is taken: the login goes through
        tries.clear()

        def freed_on_the_third_try(ip: str = "") -> bool:
            if len(tries) == 2:
                ctx.limiter.release_verify_slot()
            return counted(ip)

        monkeypatch.setattr(ctx.limiter, "try_verify_slot", freed_on_the_third_try)
        assert login(c, "office").status_code == 303
        assert tries == [False, False, True]
    finally:
        ctx.limiter.release_verify_slot()
    monkeypatch.setattr(ctx.limiter, "try_verify_slot", take)
    assert login(c, "office").status_code == 303


def test_login_audit_rows_and_the_limiter_see_the_forwarded_client_address(tmp_path: Path) -> None:
    """`edge server run --forwarded-allow-ips 127.0.0.1`: the proxy's X-Forwarded-For becomes the client."""
    import httpx

    from edge.central.web.server import ServerOptions, uvicorn_config

    ctx, app = make_web(tmp_path)
    opts = ServerOptions(tmp_path / "central.yaml", "sqlite://", port=free_port(), forwarded_allow_ips="127.0.0.1")
    server = uvicorn.Server(uvicorn_config(app, opts))
    thread = threading.Thread(target=server.run, name="test-uvicorn-proxy", daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started
        with httpx.Client(base_url=f"http://127.0.0.1:{opts.port}", headers={"X-Forwarded-For": "203.0.113.9"}) as h:
            assert login(h, "office").status_code == 303
            for _ in range(ctx.limiter.per_pair):
                login(h, "guard", "not-the-password")
            assert login(h, "guard").status_code == 429
        with httpx.Client(base_url=f"http://127.0.0.1:{opts.port}", headers={"X-Forwarded-For": "203.0.113.10"}) as h:
            assert login(h, "guard").status_code == 303, "another address behind the same proxy is not locked"
    finally:
        server.should_exit = True
        thread.join(10)
    ips = {r["ip"] for r in audit.recent(ctx.db) if r["action"] in ("login", "login_failed")}
    assert ips == {"203.0.113.9", "203.0.113.10"}
    ctx.close()


def test_an_expired_session_sends_back_to_login(web: Any) -> None:
    ctx, c = web
    login(c, "office")
    ctx.db.execute("UPDATE web_sessions SET expires_at = ?", (time.time() - 1,))
    r = c.get(f"/s/{SITE}/today", follow_redirects=False)
    assert (
        r.status_code == 303
        and r.headers["location"].startswith("/login?next=")
        and "expired=1" in r.headers["location"]
    )
    assert c.get(r.headers["location"]).text.count("Phiên đã hết hạn") == 1
    assert c.get(f"/api/v1/schools/{SITE}/classes").status_code == 401


def test_logout_deletes_the_session(web: Any) -> None:
    ctx, c = web
    login(c, "office")
    token = c.cookies.get(SESSION_COOKIE)
    page = c.get(f"/s/{SITE}/today")
    assert c.post("/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False).status_code == 303
    assert ctx.sessions.get(token) is None
    c.cookies.set(SESSION_COOKIE, token)
    assert c.get(f"/s/{SITE}/today", follow_redirects=False).status_code == 303


def test_a_disabled_user_is_logged_out_and_cannot_log_in(web: Any) -> None:
    ctx, c = web
    login(c, "teacher6a")
    ctx.accounts.set_disabled("teacher6a")
    assert c.get(f"/s/{SITE}/today", follow_redirects=False).status_code == 303
    assert login(c, "teacher6a").status_code == 401


def test_a_new_password_ends_old_sessions(web: Any) -> None:
    ctx, c = web
    login(c, "office")
    token = ctx.tokens.create("office", "sis")
    ctx.accounts.set_password("office", "a-brand-new-password")
    assert c.get(f"/s/{SITE}/today", follow_redirects=False).status_code == 303
    assert ctx.tokens.user_for(token) is None, "a new password revokes the API tokens too (review L8)"
    assert login(c, "office", "a-brand-new-password").status_code == 303
    with pytest.raises(AccountError, match="at least"):
        ctx.accounts.set_password("office", "short")


def test_forms_without_the_csrf_token_are_refused(web: Any) -> None:
    ctx, c = web
    login(c, "teacher6a")
    form = {"person_id": "chi", "day": "2026-11-23", "reason": "sick"}
    r = c.post(f"/s/{SITE}/class/6A/excuse", data=form, follow_redirects=False)
    assert r.status_code == 403
    r = c.post(f"/s/{SITE}/class/6A/excuse", data={**form, "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert ctx.db.query("SELECT * FROM excuses") == []
    assert c.post("/logout", follow_redirects=False).status_code == 403
    # the login form has its own (double-submit) token
    page = c.get("/login")
    c.cookies.delete("edge_login_csrf")
    r = c.post(
        "/login", data={"username": "office", "password": password_of("office"), "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 403


def test_api_tokens(web: Any) -> None:
    ctx, c = web
    token = ctx.tokens.create("teacher6a", "sis")
    c.cookies.clear()
    auth = {"Authorization": f"Bearer {token}"}
    assert c.get(f"/api/v1/schools/{SITE}/classes", headers=auth).status_code == 200
    assert c.get(f"/api/v1/schools/{SITE}/classes/6B/days/2026-11-24", headers=auth).status_code == 403
    assert c.get(f"/api/v1/schools/{SITE}/classes", headers={"Authorization": "Bearer edge_forged"}).status_code == 401
    row = ctx.db.one("SELECT token_hash FROM web_api_tokens")
    assert row["token_hash"] == digest(token)
    assert ctx.tokens.revoke(token) == 1
    assert c.get(f"/api/v1/schools/{SITE}/classes", headers=auth).status_code == 401


def test_every_route_needs_a_login_unless_public(web: Any) -> None:
    """Auth on by default: every route of every router in ROUTERS (the ones each module exports as `router`;
    `public` routers are the exception) answers a request without a session with 303 to /login or 401."""
    from edge.central.web.app import ROUTERS

    _ctx, c = web
    checked = 0
    for module in ROUTERS:
        routes = [r for r in module.router.routes if isinstance(r, APIRoute)]
        for route in routes:
            path = re.sub(r"\{[^}]+\}", "x", route.path).replace("/x/", f"/{SITE}/", 1)
            for method in route.methods or ():
                r = c.request(method, path, follow_redirects=False)
                assert r.status_code in (303, 401), f"{method} {route.path} answered {r.status_code} without a login"
                checked += 1
    assert checked >= 10
    assert c.get("/health").json() == {"ok": True}


def test_language_switch(web: Any) -> None:
    _ctx, c = web
    assert "Đăng nhập" in c.get("/login").text
    c.get("/lang/en?next=/login")
    assert "Log in" in c.get("/login").text
    assert c.get("/lang/en?next=https://evil.example/", follow_redirects=False).headers["location"] == "/"
    assert c.get("/lang/xx", follow_redirects=False).status_code == 404


def test_next_is_never_an_open_redirect(web: Any) -> None:
    _ctx, c = web
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = login(c, "office", next_url=target)
        assert r.headers["location"] == "/", target


def test_users_of_every_role_exist(web: Any) -> None:
    ctx, _c = web
    assert {u.username: u.role for u in ctx.accounts.list()} == {k: v[0] for k, v in USERS.items()}
    assert ctx.accounts.get("teacher6a").classes == ("6A",)
    with pytest.raises(AccountError, match="already exists"):
        ctx.accounts.add("office", "another-password", "office", site_id=SITE)
    with pytest.raises(AccountError, match="belong to one school"):
        ctx.accounts.add("t2", "another-password", "teacher")
    with pytest.raises(AccountError, match="classes are a teacher's"):
        ctx.accounts.add("t2", "another-password", "guard", site_id=SITE, classes=("6A",))
    with pytest.raises(AccountError, match="role"):
        ctx.accounts.add("t3", "another-password", "principal")
    for role, classes in (("teacher", ("6A",)), ("office", ()), ("guard", ())):  # review M3: one school each
        with pytest.raises(AccountError, match="belong to one school"):
            ctx.accounts.add("t4", "another-password", role, classes=classes)


def test_a_teachers_classes_are_classes_of_their_own_school_only(web: Any) -> None:
    ctx, _c = web
    teacher = ctx.accounts.get("teacher6a")
    assert can_see_class(teacher, SITE, "6A") and not can_see_class(teacher, "other-school", "6A")
    legacy = User(99, "old.teacher", "teacher", None, ("6A",))  # made before a school was required
    assert not can_see_class(legacy, SITE, "6A") and not can_see_school(legacy, SITE)
    district = User(98, "district", "admin", None)
    assert can_see_class(district, "other-school", "6A")
    stored = ctx.db.one("SELECT password_hash FROM web_users WHERE username = 'office'")["password_hash"]
    assert stored.startswith("$argon2id$")


def test_a_flood_of_random_names_keeps_the_limiter_bounded() -> None:
    """Review 2, M-A: every key kept at most KEEP stamps, at most MAX_KEYS keys (LRU)."""
    from edge.central.web.ratelimit import KEEP, MAX_KEYS

    now = [0.0]
    lim = LoginLimiter(clock=lambda: now[0])
    for i in range(3 * MAX_KEYS):
        now[0] = i * 0.01
        lim.begin(f"name-{i}", f"10.0.{i % 250}.{i % 200}")
    assert lim.keys() <= MAX_KEYS
    assert max(len(q) for q in lim._attempts.values()) <= KEEP


def test_one_name_guessed_from_many_addresses_is_a_rate_not_a_burst() -> None:
    """Review 2, M-B: past the threshold a name's attempts wait in one line, spaced by the delay; beyond
    max_wait_s they are refused. The right password from another address is slowed, never locked for good."""
    now = [0.0]
    lim = LoginLimiter(slow_user_after=5, first_delay_s=1.0, max_delay_s=3.0, max_wait_s=30.0, clock=lambda: now[0])
    gates = [lim.begin("admin", f"203.0.113.{i}") for i in range(40)]
    waits = [g.delay_s for g in gates if g.locked_s == 0]
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(waits[5:])), waits  # spaced: a rate
    assert any(g.locked_s > 0 for g in gates) and max(waits) <= 30.0  # a queue beyond 30 s is refused
    now[0] = 40.0  # the line has drained
    assert lim.begin("admin", "198.51.100.7").locked_s == 0


def test_one_address_holds_one_hash_slot() -> None:
    """Review 2, M-B: a single client cannot hold both slots and starve the staff."""
    lim = LoginLimiter(verify_slots=2)
    assert lim.try_verify_slot("198.51.100.1")
    assert not lim.try_verify_slot("198.51.100.1")
    assert lim.try_verify_slot("198.51.100.2")
    assert not lim.try_verify_slot("198.51.100.3")  # both busy
    lim.release_verify_slot("198.51.100.1")
    assert lim.try_verify_slot("198.51.100.3")
