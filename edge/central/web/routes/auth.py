"""Login, logout, the language switch and the health check. /login and /health are public (`public`)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from edge.central.web import csrf, i18n
from edge.central.web.context import WebContext
from edge.central.web.deps import (
    SESSION_COOKIE,
    CtxDep,
    UserDep,
    audit,
    client_ip,
    csrf_protect,
    templates,
)

router = APIRouter()
public = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //evil.example): an open redirect is a phishing aid."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _login_page(request: Request, error: str | None, status: int = 200, next_url: str = "/") -> Response:
    token = csrf.new_token()
    ctx: WebContext = request.app.state.ctx
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"error": error, "login_csrf": token, "next_url": safe_next(next_url)},
        status,
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=ctx.settings.cookie_secure, max_age=3600
    )
    return response


@public.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "/", expired: int = 0) -> Response:
    t = i18n.translator(i18n.pick(request.cookies.get(i18n.COOKIE)))
    return _login_page(request, t("login.expired") if expired else None, next_url=next)


@public.post("/login", include_in_schema=False)
async def login(
    request: Request,
    ctx: CtxDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Async so that waiting (the slow-down, a busy hash slot) holds no worker thread; the hash and the database
    run in the threadpool, inside one of the limiter's few hash slots (ratelimit.py)."""
    t = i18n.translator(i18n.pick(request.cookies.get(i18n.COOKIE)))
    if not csrf.matches(request.cookies.get(csrf.LOGIN_COOKIE), csrf_token):
        raise HTTPException(403, "csrf")
    name = username.strip().lower()
    ip = client_ip(request)
    gate = ctx.limiter.begin(name, ip)
    if gate.locked_s > 0:
        await run_in_threadpool(audit, ctx, None, "login_refused_rate_limit", {"username": name}, request)
        return _login_page(request, t("login.limited", minutes=math.ceil(gate.locked_s / 60)), 429, next)
    if gate.delay_s > 0:
        await asyncio.sleep(gate.delay_s)
    if not await _verify_slot(ctx, ip):
        response = _login_page(request, t("login.busy"), 503, next)
        response.headers["Retry-After"] = "2"
        return response
    try:
        user = await run_in_threadpool(ctx.accounts.authenticate, name, password)
    finally:
        ctx.limiter.release_verify_slot(ip)
    if user is None:
        await run_in_threadpool(audit, ctx, None, "login_failed", {"username": name}, request)
        return _login_page(request, t("login.failed"), 401, next)
    ctx.limiter.succeeded(name, ip)
    token, _session = await run_in_threadpool(ctx.sessions.create, user, ip)
    await run_in_threadpool(audit, ctx, user, "login", {}, request, user.site_id)
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.cookie_secure,
        max_age=int(ctx.settings.session_ttl_s),
    )
    response.delete_cookie(csrf.LOGIN_COOKIE)
    return response


SLOT_WAIT_S = 3.0
"""How long a login waits for a hash slot (a few staff logging in at the same moment) before "busy"."""


async def _verify_slot(ctx: WebContext, ip: str) -> bool:
    deadline = time.monotonic() + SLOT_WAIT_S
    while not ctx.limiter.try_verify_slot(ip):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@router.post("/logout", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def logout(request: Request, user: UserDep, ctx: CtxDep) -> Response:
    ctx.sessions.delete(request.cookies.get(SESSION_COOKIE))
    if ctx.live is not None:  # its live streams end now (another device's stream reconnects with its own login)
        ctx.live.end_user(user.username)
    audit(ctx, user, "logout", {}, request, user.site_id)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@public.get("/lang/{code}", include_in_schema=False)
def set_language(code: str, next: str = "/") -> Response:
    if code not in i18n.LANGUAGES:
        raise HTTPException(404, "unknown language")
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


@public.get("/health", include_in_schema=False)
def health(ctx: CtxDep) -> Response:
    """Liveness for systemd/monitoring: the database answers. No data, no login."""
    try:
        ctx.db.query("SELECT 1 AS ok")
    except Exception as exc:
        return JSONResponse({"ok": False, "error": type(exc).__name__}, 503)
    return JSONResponse({"ok": True})
