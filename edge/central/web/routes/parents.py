"""The parents' app under /p/ (#24 item 1): its own session kind (edge/central/parents/sessions.py, cookie
`edge_parent`, its own CSRF token), never a staff session. A parent signs in with a code sent to the phone or
e-mail address the school registered; sees only their own children (every child route checks the child is one
of the session's guardian's children, read from the store at that request); asks for days off; gives or
withdraws consent to face recognition; downloads the child's data; sets channel and language; ends devices.

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

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from edge.central.parents import absence, child_data, consent, preferences, sessions
from edge.central.parents.child_pdf import child_pdf
from edge.central.web import i18n
from edge.central.web import school_day as sd
from edge.central.web.deps import client_ip, get_ctx
from edge.central.web.enrolment import EnrolmentError
from edge.central.web.routes.common import MONTH, parse_month
from edge.central.web.routes.parents_common import (
    PersonPath,
    check_csrf,
    directory_of,
    own_child,
    pages,
    parent_of,
    push_key_of,
    signed_in_router,
    today_of,
)

NOTICES_SHOWN = 50
"""The child page's newest notices (a school year holds ~180 per guardian)."""

public = APIRouter()
"""Nothing here without a parent session: every route is in `signed_in`, included at the end."""
router = APIRouter()  # nothing behind the staff login
signed_in = signed_in_router()


@signed_in.get("/p/", include_in_schema=False)
def home(request: Request) -> Response:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = directory_of(ctx, s)
    lang = request.state.parent_lang
    children = [today_of(ctx, d, pid, lang) for pid in s.children if pid in d.students]
    return pages.TemplateResponse(request, "parents/home.html", {"children": children, "school": d.school})


def _child_page(request: Request, person_id: str, month: str | None, status: int = 200, **extra: Any) -> Response:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = own_child(ctx, s, person_id)
    lang = request.state.parent_lang
    now = ctx.clock()
    today = d.calendar.local_day(now)
    the_month = parse_month(month, today.replace(day=1))
    person = d.students[person_id]
    days = sd.student_month(ctx.db, d.calendar, d.id, person, the_month, now)
    with ctx.db.connection() as conn:
        from edge.central.notify.jobs import notices_of

        sent = notices_of(conn, ctx.db.engine, d.id, person_id, guardian_ids=s.guardian_ids, newest=NOTICES_SHOWN)
    prev_month = (the_month - timedelta(days=1)).replace(day=1)
    next_month = (the_month + timedelta(days=32)).replace(day=1)
    context = {
        "school": d.school,
        "person": person,
        "today": today_of(ctx, d, person_id, lang, days if the_month == today.replace(day=1) else None),
        "days": days,
        "month": the_month,
        "prev_month": prev_month.strftime("%Y-%m"),
        "next_month": next_month.strftime("%Y-%m") if next_month <= today else None,
        "notices": list(reversed(sent)),
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
    check_csrf(s, csrf_token)
    ctx = get_ctx(request)
    d = own_child(ctx, s, person_id)
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
    check_csrf(s, csrf_token)
    ctx = get_ctx(request)
    d = own_child(ctx, s, person_id)
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
    d = own_child(ctx, s, person_id)
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
    d = directory_of(ctx, s)
    context = {
        "channels": preferences.channels_for(d.school),
        "devices": sessions.devices(ctx.db, s.site_id, s.guardian_id),
        "this_device": s.token_hash[:16],
        "saved": saved,
        "error": error,
        "push": push_key_of(d.school) is not None,
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
    check_csrf(s, csrf_token)
    ctx = get_ctx(request)
    try:
        preferences.set_preferences(ctx.db, directory_of(ctx, s).school, s.guardian_ids, channel, language,
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
    check_csrf(s, csrf_token)
    sessions.end_device(get_ctx(request).db, s.site_id, s.guardian_id, device, "parent")
    return RedirectResponse("/p/settings", 303)


public.include_router(signed_in)
