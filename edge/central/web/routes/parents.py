"""The parents' app under /p/ (#24 item 1): its own session kind (edge/central/parents/sessions.py, cookie
`edge_parent`, its own CSRF token), never a staff session. A parent signs in with a code sent to the phone or
e-mail address the school registered; sees only their own children (every child route checks the child is one
of the session's guardian's children, read from the store at that request); asks for days off; gives or
withdraws consent to face recognition; downloads the child's data; sets channel and language; ends devices.

    GET  /p/login, POST /p/login (address -> code sent), POST /p/login/code (code -> session)
    GET  /p/                     the children, today's status each
    GET  /p/child/ID[?month=]    today, the month's history, notices, absence requests, consent
    POST /p/child/ID/absence     first_day, last_day, reason
    POST /p/child/ID/consent     action=give|withdraw
    GET  /p/child/ID/data.json | data.html | data.pdf
    GET  /p/settings, POST /p/settings (channel, language), POST /p/devices/end (device), POST /p/logout
    GET  /p/api/children         today's status of the children as JSON (what the offline view keeps)
    GET  /p/manifest.webmanifest, /p/sw.js   the installable app (PWA) and its service worker
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from edge.central.notify import push_subscriptions
from edge.central.notify.directory import SchoolDirectory
from edge.central.parents import absence, child_data, consent, preferences, sessions, signin
from edge.central.parents.child_pdf import child_pdf
from edge.central.web import csrf, i18n
from edge.central.web import school_day as sd
from edge.central.web.context import WebContext
from edge.central.web.deps import HERE, client_ip, get_ctx, templates
from edge.central.web.enrolment import EnrolmentError
from edge.central.web.routes.common import MONTH, PERSON, parse_month
from edge.config.central import SchoolConfig, WebPushChannel

public = APIRouter()
"""Signing in and the installable app's files; the signed-in routes below are added to it at the end."""
router = APIRouter()  # nothing behind the staff login
LOGIN_COOKIE = "edge_parent_login"
PersonPath = Annotated[str, Path(pattern=PERSON)]


class ParentLoginRequired(Exception):
    """No parent session (or it ended): pages redirect to /p/login, the API answers 401 (app.py)."""


def _parent_context(request: Request) -> dict[str, Any]:
    lang = getattr(request.state, "parent_lang", None) or i18n.pick(request.cookies.get(i18n.COOKIE))
    s: sessions.ParentSession | None = getattr(request.state, "parent", None)
    return {
        "t": i18n.translator(lang),
        "lang": lang,
        "user": None,
        "parent": s,
        "csrf_token": s.csrf if s is not None else getattr(request.state, "login_csrf", ""),
        "tz": getattr(request.state, "tz", "Asia/Ho_Chi_Minh"),
        "schools": [],
    }


pages = Jinja2Templates(env=templates.env, context_processors=[_parent_context])


def _lang(request: Request, s: sessions.ParentSession | None) -> str:
    cookie = request.cookies.get(i18n.COOKIE)
    if cookie in i18n.LANGUAGES:
        return str(cookie)
    return s.language if s is not None and s.language in i18n.LANGUAGES else i18n.DEFAULT


def parent_of(request: Request) -> sessions.ParentSession:
    """The request's parent session (a dependency of every signed-in route, so it is checked before the body is
    read); the route's own call finds it in request.state."""
    known: sessions.ParentSession | None = getattr(request.state, "parent", None)
    if known is not None:
        return known
    ctx = get_ctx(request)
    s = sessions.lookup(ctx.db, request.cookies.get(sessions.COOKIE))
    if s is None:
        raise ParentLoginRequired()
    request.state.parent = s
    request.state.parent_lang = _lang(request, s)
    school = ctx.school(s.site_id)
    if school is not None:
        request.state.tz = school.timezone
    return s


signed_in = APIRouter(dependencies=[Depends(parent_of)])
"""Every route but signing in: a parent session is required (ParentLoginRequired: 303 to /p/login, API 401)."""


def _check_csrf(s: sessions.ParentSession, given: str | None) -> None:
    if not csrf.matches(s.csrf, given):
        raise HTTPException(403, "csrf")


def _directory(ctx: WebContext, s: sessions.ParentSession) -> SchoolDirectory:
    d = ctx.directories.get(s.site_id)
    if d is None:
        raise HTTPException(404, "unknown school")
    return d


def _own_child(ctx: WebContext, s: sessions.ParentSession, person_id: str) -> SchoolDirectory:
    """404 — the same answer as for a child that does not exist — for anyone but the session's own children."""
    d = _directory(ctx, s)
    if person_id not in s.children or person_id not in d.students:
        raise HTTPException(404, "not found")
    return d


def _today_of(ctx: WebContext, d: SchoolDirectory, person_id: str, lang: str) -> dict[str, Any]:
    """Today's answer of the one attendance rule for one child, in words the app shows (and the JSON keeps)."""
    now = ctx.clock()
    today = d.calendar.local_day(now)
    person = d.students[person_id]
    rows = sd.student_month(ctx.db, d.calendar, d.id, person, today.replace(day=1), now)
    row = next((r for r in rows if r.attendance.day == today), None)
    status = row.status if row is not None else "no_school"
    arrived = row.first_in if row is not None else None
    gate = d.messages.gate_name(row.gate, lang) if row is not None and row.gate else None
    tz = d.calendar.tz
    return {
        "person_id": person_id,
        "name": person.name,
        "class": person.class_name,
        "day": today.isoformat(),
        "status": status,
        "arrived_at": arrived.astimezone(tz).strftime("%H:%M") if arrived else None,
        "gate": gate,
        "text": i18n.translate(lang, "status." + status),
    }


# signing in --------------------------------------------------------------------------------------------------
def _login_page(request: Request, template: str, status: int = 200, **extra: Any) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    request.state.login_csrf = token
    request.state.parent_lang = _lang(request, None)
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
        await run_in_threadpool(signin.send_code, ctx.db, school, addr, ctx.clock(), ip)
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
        g = signin.check_code(ctx.db, addr, code)
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
    _check_csrf(s, csrf_token)
    sessions.end(get_ctx(request).db, s.token_hash, "parent")
    resp = RedirectResponse("/p/login", 303)
    resp.delete_cookie(sessions.COOKIE, path="/p/")
    return resp


# pages -------------------------------------------------------------------------------------------------------
@signed_in.get("/p/", include_in_schema=False)
def home(request: Request) -> Response:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = _directory(ctx, s)
    lang = request.state.parent_lang
    children = [_today_of(ctx, d, pid, lang) for pid in s.children if pid in d.students]
    return pages.TemplateResponse(request, "parents/home.html", {"children": children, "school": d.school})


def _child_page(request: Request, person_id: str, month: str | None, status: int = 200, **extra: Any) -> Response:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = _own_child(ctx, s, person_id)
    lang = request.state.parent_lang
    now = ctx.clock()
    today = d.calendar.local_day(now)
    the_month = parse_month(month, today.replace(day=1))
    person = d.students[person_id]
    days = sd.student_month(ctx.db, d.calendar, d.id, person, the_month, now)
    with ctx.db.connection() as conn:
        from edge.central.notify.jobs import notices_of

        sent = [n for n in notices_of(conn, ctx.db.engine, d.id, person_id) if n["guardian_id"] in s.guardian_ids]
    prev_month = (the_month - timedelta(days=1)).replace(day=1)
    next_month = (the_month + timedelta(days=32)).replace(day=1)
    context = {
        "school": d.school,
        "person": person,
        "today": _today_of(ctx, d, person_id, lang),
        "days": days,
        "month": the_month,
        "prev_month": prev_month.strftime("%Y-%m"),
        "next_month": next_month.strftime("%Y-%m") if next_month <= today else None,
        "notices": list(reversed(sent))[:50],
        "requests": absence.of_students(ctx.db, d.id, [person_id]),
        "consent": consent.current(ctx.db, d.id, person_id),
        "today_iso": today.isoformat(),
        **extra,
    }
    return pages.TemplateResponse(request, "parents/child.html", context, status)


@signed_in.get("/p/child/{person_id}", include_in_schema=False)
def child(
    request: Request, person_id: PersonPath, month: Annotated[str | None, Query(pattern=MONTH)] = None
) -> Response:
    return _child_page(request, person_id, month)


@signed_in.post("/p/child/{person_id}/absence", include_in_schema=False)
def ask_absence(
    request: Request,
    person_id: PersonPath,
    first_day: Annotated[date, Form()],
    last_day: Annotated[date, Form()],
    reason: Annotated[str, Form(max_length=absence.REASON_MAX)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    s = parent_of(request)
    _check_csrf(s, csrf_token)
    ctx = get_ctx(request)
    d = _own_child(ctx, s, person_id)
    today = d.calendar.local_day(ctx.clock())
    try:
        absence.ask(ctx.db, d.calendar, d.id, person_id, s.guardian_id, first_day, last_day, reason, today,
                    client_ip(request))  # fmt: skip
    except absence.RequestRefused as exc:
        return _child_page(request, person_id, None, 422, absence_error=exc.reason)
    return _child_page(request, person_id, None, absence_sent=True)


@signed_in.post("/p/child/{person_id}/consent", include_in_schema=False)
async def parent_consent(
    request: Request,
    person_id: PersonPath,
    action: Annotated[str, Form(pattern="^(give|withdraw)$")],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    s = parent_of(request)
    _check_csrf(s, csrf_token)
    ctx = get_ctx(request)
    d = _own_child(ctx, s, person_id)
    who, by, ip = s.name, f"guardian:{s.guardian_id}", client_ip(request)
    if action == "give":
        consent.give(ctx.db, d.id, person_id, given_by=who, method="app", recorded_by=by, ip=ip)
        return _child_page(request, person_id, None, consent_done="given")
    try:
        await run_in_threadpool(
            consent.withdraw, ctx.db, ctx.enrolment, d.id, person_id, given_by=who, method="app", recorded_by=by, ip=ip
        )
    except EnrolmentError:  # recorded; the office removes the face (the Student page shows the withdrawal)
        return _child_page(request, person_id, None, 500, consent_done="not_removed")
    return _child_page(request, person_id, None, consent_done="withdrawn")


def _data(request: Request, person_id: str, form: str) -> dict[str, Any]:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = _own_child(ctx, s, person_id)
    from edge.central.web import audit

    audit.record(ctx.db, f"guardian:{s.guardian_id}", "child_data_export", {"person_id": person_id, "format": form},
                 client_ip(request), d.id)  # fmt: skip
    return child_data.collect(ctx.db, d, ctx.enrolment, person_id, ctx.clock())


@signed_in.get("/p/child/{person_id}/data.json", include_in_schema=False)
def data_json(request: Request, person_id: PersonPath) -> Response:
    body = child_data.to_json(_data(request, person_id, "json"))
    disposition = f'attachment; filename="{person_id}-data.json"'
    return Response(body, media_type="application/json", headers={"Content-Disposition": disposition})


@signed_in.get("/p/child/{person_id}/data.pdf", include_in_schema=False)
async def data_pdf(request: Request, person_id: PersonPath) -> Response:
    data = _data(request, person_id, "pdf")
    tz = getattr(request.state, "tz", "Asia/Ho_Chi_Minh")
    pdf = await run_in_threadpool(child_pdf, data, request.state.parent_lang, tz)
    disposition = f'attachment; filename="{person_id}-data.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


@signed_in.get("/p/child/{person_id}/data.html", include_in_schema=False)
def data_html(request: Request, person_id: PersonPath) -> Response:
    data = _data(request, person_id, "html")
    return pages.TemplateResponse(request, "parents/child_data_parent.html", {"data": data})


@signed_in.get("/p/settings", include_in_schema=False)
def settings_page(request: Request, saved: bool = False, status: int = 200, error: str | None = None) -> Response:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = _directory(ctx, s)
    context = {
        "channels": preferences.channels_for(d.school),
        "devices": sessions.devices(ctx.db, s.site_id, s.guardian_id),
        "this_device": s.token_hash[:16],
        "saved": saved,
        "error": error,
        "push": _push_key(d.school) is not None,
    }
    return pages.TemplateResponse(request, "parents/settings.html", context, status)


@signed_in.post("/p/settings", include_in_schema=False)
def save_settings(
    request: Request,
    channel: Annotated[str, Form(max_length=64)],
    language: Annotated[str, Form(max_length=8)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    s = parent_of(request)
    _check_csrf(s, csrf_token)
    ctx = get_ctx(request)
    try:
        preferences.set_preferences(ctx.db, _directory(ctx, s).school, s.guardian_ids, channel, language,
                                    client_ip(request))  # fmt: skip
    except preferences.PreferenceRefused as exc:
        return settings_page(request, status=422, error=str(exc))
    resp = RedirectResponse("/p/settings?saved=1", 303)
    resp.set_cookie(i18n.COOKIE, language, samesite="lax", secure=ctx.settings.cookie_secure)
    return resp


@signed_in.post("/p/devices/end", include_in_schema=False)
def end_device(
    request: Request,
    device: Annotated[str, Form(max_length=32)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    s = parent_of(request)
    _check_csrf(s, csrf_token)
    sessions.end_device(get_ctx(request).db, s.site_id, s.guardian_id, device, "parent")
    return RedirectResponse("/p/settings", 303)


# API and the installable app -------------------------------------------------------------------------------------
@signed_in.get("/p/api/children", include_in_schema=False)
def api_children(request: Request) -> JSONResponse:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = _directory(ctx, s)
    lang = request.state.parent_lang
    return JSONResponse({"children": [_today_of(ctx, d, pid, lang) for pid in s.children if pid in d.students]})


@signed_in.get("/p/api/child/{person_id}", include_in_schema=False)
def api_child(request: Request, person_id: PersonPath) -> JSONResponse:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = _own_child(ctx, s, person_id)
    return JSONResponse(_today_of(ctx, d, person_id, request.state.parent_lang))


def _push_key(school: SchoolConfig) -> str | None:
    """The VAPID public key of the school's Web Push channel (the browser subscribes with it); None: no channel."""
    from edge.central.notify.channels.webpush import load_vapid_key, public_key_b64

    for c in school.channels:
        if isinstance(c, WebPushChannel):
            try:
                return public_key_b64(load_vapid_key(c.vapid_key_file))
            except (OSError, ValueError):
                return None
    return None


@signed_in.get("/p/api/push-key", include_in_schema=False)
def push_key(request: Request) -> JSONResponse:
    s = parent_of(request)
    key = _push_key(_directory(get_ctx(request), s).school)
    if key is None:
        raise HTTPException(404, "this school sends no Web Push")
    return JSONResponse({"publicKey": key})


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)


class PushSubscriptionIn(BaseModel):
    """What the browser's PushSubscription.toJSON() gives (expirationTime ignored), and a label for the device."""

    model_config = ConfigDict(extra="ignore")
    endpoint: str = Field(max_length=push_subscriptions.MAX_ENDPOINT)
    keys: PushKeys
    label: str | None = Field(None, max_length=push_subscriptions.MAX_LABEL)


@signed_in.post("/p/api/push-subscription", include_in_schema=False)
def push_subscribe(request: Request, body: PushSubscriptionIn) -> JSONResponse:
    """The service worker's subscription, stored for the signed-in guardian through the Web Push channel's own
    functions (edge/central/notify/push_subscriptions.py); the header X-CSRF-Token carries the session's token."""
    s = parent_of(request)
    _check_csrf(s, request.headers.get(csrf.HEADER))
    ctx = get_ctx(request)
    try:
        with ctx.db.connection() as conn:
            push_subscriptions.add(
                conn, ctx.db.engine, site=s.site_id, guardian_id=s.guardian_id, endpoint=body.endpoint,
                p256dh=body.keys.p256dh, auth=body.keys.auth, label=body.label,
                user_agent=request.headers.get("user-agent"),
            )  # fmt: skip
    except push_subscriptions.SubscriptionError as exc:
        return JSONResponse({"detail": str(exc)}, 422)
    return JSONResponse({"subscribed": True}, 201)


@signed_in.delete("/p/api/push-subscription", include_in_schema=False)
def push_unsubscribe(request: Request, body: PushSubscriptionIn) -> JSONResponse:
    s = parent_of(request)
    _check_csrf(s, request.headers.get(csrf.HEADER))
    ctx = get_ctx(request)
    with ctx.db.connection() as conn:
        gone = push_subscriptions.remove(
            conn, ctx.db.engine, site=s.site_id, guardian_id=s.guardian_id, endpoint=body.endpoint
        )
    return JSONResponse({"removed": gone})


@public.get("/p/manifest.webmanifest", include_in_schema=False)
def manifest(request: Request) -> JSONResponse:
    lang = _lang(request, None)
    body = {
        "name": i18n.translate(lang, "parents.app_name"),
        "short_name": i18n.translate(lang, "parents.short_name"),
        "start_url": "/p/",
        "scope": "/p/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f5f8b",
        "lang": lang,
        "icons": [{"src": "/static/parents-icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return JSONResponse(body, media_type="application/manifest+json")


@public.get("/p/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """At /p/ so its scope is the parents' app and nothing of the staff app."""
    body = (HERE / "static" / "parents-sw.js").read_bytes()
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


public.include_router(signed_in)
