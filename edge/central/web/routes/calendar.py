"""Calendar editor (office and admin): terms, holidays, make-up school days, cut-offs per grade and class, the
go-live date, and a "check a day" box that answers with the calendar's own verdict. Each form is one change
(edge/central/web/calendar_edit.py) written in one transaction with the version bump and the audit row; the
notifier and every other process follow it through LiveSchools."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from edge.central.attendance.collation import sorted_classes
from edge.central.web import calendar_edit as ce
from edge.central.web import i18n
from edge.central.web.accounts import User
from edge.central.web.deps import CtxDep, UserDep, audit, csrf_protect, language, school_for, templates
from edge.central.web.routes.common import DAY, SITE, classes_of, directory, parse_day, today
from edge.central.web.visibility import roles_with

router = APIRouter()
EDITORS = roles_with("roster")
"""Whoever keeps the school's roster keeps its calendar (the office and the admin)."""
OPTIONAL_DAY = r"^(\d{4}-\d{2}-\d{2})?$"


def _editor(user: User) -> None:
    if user.role not in EDITORS:
        raise HTTPException(403, "forbidden")


def _page(request: Request, ctx: Any, user: User, site_id: str, status: int = 200, **extra: Any) -> Response:
    school = school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    request.state.tz = school.timezone
    current, _now = today(ctx, d)
    check = extra.pop("check", None) or current
    verdict = d.calendar.check(check)
    why, why_fields = ce.reason_words(verdict.reason)
    if "wd" in why_fields:
        why_fields["wd"] = i18n.translate(language(request), f"office.wd_{why_fields['wd']}")
    for field in ("d", "start", "end"):  # the calendar's ISO dates as the pages write every date (dd/mm/yyyy)
        if field in why_fields:
            with contextlib.suppress(ValueError):
                why_fields[field] = date.fromisoformat(why_fields[field]).strftime("%d/%m/%Y")
    cal = d.calendar.config
    context = {
        "school": school,
        "cal": cal,
        "key": ce.entry_key,
        "classes": classes_of(d),
        "grades": sorted_classes({c[: len(c) - len(c.lstrip("0123456789"))] or c for c in classes_of(d)} - {""}),
        "check": check,
        "verdict": verdict,
        "why": why,
        "why_fields": why_fields,
        "error": None,
        "error_fields": {},
        "saved": request.query_params.get("saved") == "1",
        **extra,
    }
    return templates.TemplateResponse(request, "calendar.html", context, status)


@router.get("/s/{site_id}/calendar", include_in_schema=False)
def calendar_page(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    check: Annotated[str | None, Query(pattern=OPTIONAL_DAY)] = None,
) -> Response:
    school_for(ctx, user, site_id)
    _editor(user)
    d = directory(ctx, site_id)
    return _page(request, ctx, user, site_id, check=parse_day(check, today(ctx, d)[0]))


def _save(
    request: Request, user: User, ctx: Any, site_id: str, action: str, change: ce.Change, detail: dict[str, Any]
) -> Response:
    try:
        with ctx.db.transaction() as tx:
            ce.apply_change(tx, site_id, change)
            audit(ctx, user, f"calendar.{action}", detail, request, site_id, tx)
    except ce.CalendarEditError as exc:
        return _page(request, ctx, user, site_id, 422, error=exc.key, error_fields=exc.fields)
    ctx.directories.reload(site_id)
    return RedirectResponse(f"/s/{site_id}/calendar?saved=1", 303)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _begin(ctx: Any, user: User, site_id: str) -> None:
    school_for(ctx, user, site_id)
    _editor(user)


Name = Annotated[str, Form(max_length=200)]
Day = Annotated[str, Form(pattern=DAY)]
MaybeDay = Annotated[str, Form(pattern=OPTIONAL_DAY)]
Key = Annotated[str, Form(max_length=300)]


@router.post("/s/{site_id}/calendar/days", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def add_day(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    kind: Annotated[Literal["holiday", "makeup"], Form()],
    name: Name,
    start: Day,
    end: MaybeDay = "",
) -> Response:
    """A holiday (days without school) or a make-up school day ("ngày học bù"), one day or a run of days."""
    _begin(ctx, user, site_id)
    try:
        change = ce.add_day(kind, name, date.fromisoformat(start), _day(end))
    except ce.CalendarEditError as exc:
        return _page(request, ctx, user, site_id, 422, error=exc.key, error_fields=exc.fields)
    detail = {"kind": kind, "name": name.strip(), "start": start, "end": end or start}
    return _save(request, user, ctx, site_id, f"add_{kind}", change, detail)


@router.post("/s/{site_id}/calendar/days/remove", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def remove_day(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    kind: Annotated[Literal["holiday", "makeup"], Form()],
    key: Key,
) -> Response:
    _begin(ctx, user, site_id)
    return _save(request, user, ctx, site_id, f"remove_{kind}", ce.remove_day(kind, key), {"kind": kind, "key": key})


@router.post("/s/{site_id}/calendar/terms", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def add_term(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    name: Name,
    start: Day,
    end: Day,
) -> Response:
    _begin(ctx, user, site_id)
    try:
        change = ce.add_term(name, date.fromisoformat(start), date.fromisoformat(end))
    except ce.CalendarEditError as exc:
        return _page(request, ctx, user, site_id, 422, error=exc.key, error_fields=exc.fields)
    return _save(request, user, ctx, site_id, "add_term", change, {"name": name.strip(), "start": start, "end": end})


@router.post("/s/{site_id}/calendar/terms/remove", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def remove_term(
    request: Request, user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)], key: Key
) -> Response:
    _begin(ctx, user, site_id)
    return _save(request, user, ctx, site_id, "remove_term", ce.remove_term(key), {"key": key})


@router.post("/s/{site_id}/calendar/times", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def set_times(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    scope: Annotated[Literal["school", "grade", "class"], Form()],
    name: Annotated[str, Form(max_length=32)] = "",
    cutoff: Annotated[str, Form(max_length=10)] = "",
    dismissal: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The school's default cut-off and dismissal, or one grade's / class's (both empty: back to the defaults)."""
    _begin(ctx, user, site_id)
    try:
        change = ce.set_times(scope, name, cutoff, dismissal)
    except ce.CalendarEditError as exc:
        return _page(request, ctx, user, site_id, 422, error=exc.key, error_fields=exc.fields)
    detail = {"scope": scope, "name": name, "cutoff": cutoff, "dismissal": dismissal}
    return _save(request, user, ctx, site_id, "set_times", change, detail)


@router.post("/s/{site_id}/calendar/go-live", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def set_go_live(
    request: Request, user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)], day: MaybeDay = ""
) -> Response:
    """The first day the gates record attendance (empty: none — every term day counts)."""
    _begin(ctx, user, site_id)
    return _save(request, user, ctx, site_id, "set_go_live", ce.set_go_live(_day(day)), {"go_live": day or None})
