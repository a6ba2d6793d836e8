"""Signing a parent in to the parents' app (edge/central/parents/signin.py has the rules):

GET  /p/login, POST /p/login (address -> code sent), POST /p/login/code (code -> session), POST /p/logout
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from edge.central.parents import sessions, signin
from edge.central.web import csrf
from edge.central.web.deps import client_ip, get_ctx
from edge.central.web.routes.parents_common import (
    check_csrf,
    language_of,
    pages,
    parent_of,
    signed_in_router,
)

public = APIRouter()
router = APIRouter()  # nothing behind the staff login
signed_in = signed_in_router()
LOGIN_COOKIE = "edge_parent_login"


def _login_page(request: Request, template: str, status: int = 200, **extra: Any) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    request.state.login_csrf = token
    request.state.parent_lang = language_of(request, None)
    resp = pages.TemplateResponse(request, f"parents/{template}", extra, status)
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/p/",
                    secure=get_ctx(request).settings.cookie_secure)  # fmt: skip
    return resp


def _login_csrf(request: Request, given: str) -> None:
    if not csrf.matches(request.cookies.get(LOGIN_COOKIE), given):
        raise HTTPException(403, "csrf")


@public.get("/p/login", include_in_schema=False)
def login_form(request: Request) -> Response:
    return _login_page(request, "login.html")


@public.post("/p/login", include_in_schema=False)
async def login_send(
    request: Request,
    address: Annotated[str, Form(max_length=254)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    _login_csrf(request, csrf_token)
    ctx = get_ctx(request)
    ip = client_ip(request)
    try:
        signin.check_client(ctx.db, ip)
        addr = signin.parse_address(address)
        found = signin.guardian_at(ctx.db, addr)
        school = ctx.school(found.site_id) if found is not None else None
        if school is None:
            signin.note_unknown(ctx.db, addr, ip)
            raise signin.SignInRefused("unknown")
        await run_in_threadpool(signin.send_code, ctx.db, school, addr, ctx.clock(), ctx.code_key, ip)
    except signin.SignInRefused as exc:
        return _login_page(request, "login.html", 422, error=exc.reason, address=address)
    return _login_page(request, "code.html", address=addr.value, kind=addr.kind)


@public.post("/p/login/code", include_in_schema=False)
def login_code(
    request: Request,
    address: Annotated[str, Form(max_length=254)],
    code: Annotated[str, Form(max_length=12)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    _login_csrf(request, csrf_token)
    ctx = get_ctx(request)
    try:
        addr = signin.parse_address(address)
        g = signin.check_code(ctx.db, addr, code, ctx.code_key)
    except signin.SignInRefused as exc:
        return _login_page(request, "code.html", 422, error=exc.reason, address=address, kind="")
    device = request.headers.get("user-agent", "")[:200] or "?"
    token = sessions.create(ctx.db, g.site_id, g.guardian_id, device)
    from edge.central.web import audit

    audit.record(ctx.db, f"guardian:{g.guardian_id}", "parent_sign_in", {"device": device}, client_ip(request),
                 g.site_id)  # fmt: skip
    resp = RedirectResponse("/p/", 303)
    resp.set_cookie(sessions.COOKIE, token, max_age=int(sessions.TTL_S), httponly=True, samesite="lax", path="/p/",
                    secure=ctx.settings.cookie_secure)  # fmt: skip
    resp.delete_cookie(LOGIN_COOKIE, path="/p/")
    return resp


@signed_in.post("/p/logout", include_in_schema=False)
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    s = parent_of(request)
    check_csrf(s, csrf_token)
    sessions.end(get_ctx(request).db, s.token_hash, "parent")
    resp = RedirectResponse("/p/login", 303)
    resp.delete_cookie(sessions.COOKIE, path="/p/")
    return resp


public.include_router(signed_in)
