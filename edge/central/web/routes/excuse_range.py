"""Bulk and multi-day excuse from the class day page: the chosen students of the class × the school days of a
range (which may be in the future), one reason, one transaction with one audit row (excuse_range.py)."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from edge.central.web import excuse_range as er
from edge.central.web.deps import CtxDep, UserDep, audit, csrf_protect, school_for, templates
from edge.central.web.routes.classes import REASON_MAX
from edge.central.web.routes.common import CLASS, DAY, PERSON, SITE, class_students, directory
from edge.central.web.visibility import roles_with
from edge.control_chars import first_forbidden

router = APIRouter()


@router.post(
    "/s/{site_id}/class/{class_name}/excuse-range", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
def excuse_range(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    class_name: Annotated[str, Path(pattern=CLASS)],
    start: Annotated[str, Form(pattern=DAY)],
    end: Annotated[str, Form(pattern=DAY)],
    reason: Annotated[str, Form(min_length=1, max_length=REASON_MAX)],
    person_id: Annotated[list[Annotated[str, Form(pattern=PERSON)]] | None, Form()] = None,
) -> Response:
    if user.role not in roles_with("excuse"):
        raise HTTPException(403, "forbidden")
    school = school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    members = {p.person_id for p in class_students(ctx, user, d, class_name)}
    chosen = sorted(set(person_id or []))
    strangers = [p for p in chosen if p not in members]
    if strangers:
        raise HTTPException(404, "unknown student")
    text = reason.strip()
    try:
        if not text:
            raise er.RangeError("office.excuse_no_reason")
        if first_forbidden(text) is not None:
            raise er.RangeError("office.control_char")
        days = er.school_days(d.calendar, date.fromisoformat(start), date.fromisoformat(end))
        with ctx.db.transaction() as tx:
            done = er.excuse_range(tx, site_id, chosen, days, text, user.username, time.time())
            audit(
                ctx,
                user,
                "excuse_range",
                {
                    "class": class_name,
                    "people": done.people,
                    "days": [x.isoformat() for x in done.days],
                    "reason": text,
                    "new": done.new,
                    "replaced": done.replaced,
                },
                request,
                site_id,
                tx,
            )
    except er.RangeError as exc:
        request.state.tz = school.timezone
        return templates.TemplateResponse(
            request,
            "office_error.html",
            {"message": exc.key, "fields": exc.fields, "back": f"/s/{site_id}/class/{quote(class_name, safe='')}"},
            422,
        )
    where = f"/s/{site_id}/class/{quote(class_name, safe='')}?day={start}&excused={done.new + done.replaced}"
    return RedirectResponse(where, 303)
