"""What the parents' app's route modules share (routes/parents.py pages, parents_signin.py, parents_api.py): the
parent session as a dependency, the app's own template context (the guardian's language), and the checks that a
child is the session's own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.templating import Jinja2Templates

from edge.central.notify.directory import SchoolDirectory
from edge.central.parents import sessions
from edge.central.web import csrf, i18n
from edge.central.web import school_day as sd
from edge.central.web.context import WebContext
from edge.central.web.deps import get_ctx, templates
from edge.central.web.routes.common import PERSON
from edge.config.central import SchoolConfig, WebPushChannel

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


def language_of(request: Request, s: sessions.ParentSession | None) -> str:
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
    request.state.parent_lang = language_of(request, s)
    school = ctx.school(s.site_id)
    if school is not None:
        request.state.tz = school.timezone
    return s


def signed_in_router() -> APIRouter:
    """A router for routes that need a parent session (ParentLoginRequired: 303 to /p/login, API 401), checked
    as a dependency before any body is read; each module includes it into its `public` router."""
    return APIRouter(dependencies=[Depends(parent_of)])


def check_csrf(s: sessions.ParentSession, given: str | None) -> None:
    if not csrf.matches(s.csrf, given):
        raise HTTPException(403, "csrf")


def directory_of(ctx: WebContext, s: sessions.ParentSession) -> SchoolDirectory:
    d = ctx.directories.get(s.site_id)
    if d is None:
        raise HTTPException(404, "unknown school")
    return d


def own_child(ctx: WebContext, s: sessions.ParentSession, person_id: str) -> SchoolDirectory:
    """404 — the same answer as for a child that does not exist — for anyone but the session's own children."""
    d = directory_of(ctx, s)
    if person_id not in s.children or person_id not in d.students:
        raise HTTPException(404, "not found")
    return d


def today_of(
    ctx: WebContext,
    d: SchoolDirectory,
    person_id: str,
    lang: str,
    this_month: list[sd.StudentDay] | None = None,
) -> dict[str, Any]:
    """Today's answer of the one attendance rule for one child, in words the app shows (and the JSON keeps).
    `this_month`: the child's current month from sd.student_month when the caller has it already (the child page
    showing this month), so its two queries are not run twice."""
    now = ctx.clock()
    today = d.calendar.local_day(now)
    person = d.students[person_id]
    rows = this_month if this_month is not None else sd.student_month(ctx.db, d.calendar, d.id, person,
                                                                        today.replace(day=1), now)  # fmt: skip
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


def push_key_of(school: SchoolConfig) -> str | None:
    """The VAPID public key of the school's Web Push channel (the browser subscribes with it); None: no channel."""
    from edge.central.notify.channels.webpush import load_vapid_key, public_key_b64

    for c in school.channels:
        if isinstance(c, WebPushChannel):
            try:
                return public_key_b64(load_vapid_key(c.vapid_key_file))
            except (OSError, ValueError):
                return None
    return None
