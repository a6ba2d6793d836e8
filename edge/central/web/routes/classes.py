"""Class day: one row per student (first in, last out, status, method, notices); a teacher excuses an absence."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from edge.central.attendance.rule import Status
from edge.central.notify.directory import SchoolDirectory
from edge.central.parents import absence
from edge.central.web import school_day as sd
from edge.central.web.accounts import User
from edge.central.web.context import WebContext
from edge.central.web.deps import CtxDep, UserDep, audit, csrf_protect, school_for, templates
from edge.central.web.routes.common import CLASS, DAY, PERSON, SITE, class_students, directory, parse_day, today
from edge.central.web.visibility import roles_with

router = APIRouter()
REASON_MAX = 500


@router.get("/s/{site_id}/class/{class_name}", include_in_schema=False)
def class_page(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    class_name: Annotated[str, Path(pattern=CLASS)],
    day: Annotated[str | None, Query(pattern=DAY)] = None,
) -> Response:
    school = school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    request.state.tz = school.timezone
    students = class_students(ctx, user, d, class_name)
    current, now = today(ctx, d)
    the_day = parse_day(day, current)
    rows = sd.class_day(ctx.db, d.calendar, site_id, students, the_day, now)
    return templates.TemplateResponse(
        request,
        "class_day.html",
        {
            "school": school,
            "class_name": class_name,
            "day": the_day,
            "verdict": d.calendar.check(the_day),
            "rows": rows,
            "prev_day": (the_day - timedelta(days=1)).isoformat(),
            "next_day": (the_day + timedelta(days=1)).isoformat() if the_day < current else None,
            "may_excuse": user.role in roles_with("excuse"),
            "may_register": user.role in roles_with("register"),
            "excusable": {str(Status.ABSENT), str(Status.PENDING), str(Status.EXCUSED)},
            "absence_requests": absence.of_students(ctx.db, site_id, [p.person_id for p in students]),
            "names": {p.person_id: p.name for p in students},
        },
    )


def _student_of_class(ctx: WebContext, user: User, site_id: str, class_name: str, person_id: str) -> SchoolDirectory:
    """The school's directory once the user may excuse in this class (403) and the student is in it (404)."""
    if user.role not in roles_with("excuse"):
        raise HTTPException(403, "forbidden")
    school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    if person_id not in {p.person_id for p in class_students(ctx, user, d, class_name)}:
        raise HTTPException(404, "unknown student")
    return d


@router.post("/s/{site_id}/class/{class_name}/excuse", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def excuse(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    class_name: Annotated[str, Path(pattern=CLASS)],
    person_id: Annotated[str, Form(pattern=PERSON)],
    day: Annotated[str, Form(pattern=DAY)],
    reason: Annotated[str, Form(min_length=1, max_length=REASON_MAX)],
) -> Response:
    """Mark the student's day excused (an absence the school accepts). Recorded with who and why, audited in the
    same transaction. Refused for a student of another class, a future day, or a day without school."""
    d = _student_of_class(ctx, user, site_id, class_name, person_id)
    the_day = parse_day(day, today(ctx, d)[0])
    if the_day > today(ctx, d)[0]:
        raise HTTPException(422, "error.future_day")
    if not d.calendar.is_school_day(the_day):
        raise HTTPException(422, "error.not_school_day")
    text = reason.strip()
    if not text:
        raise HTTPException(422, "error.reason_required")
    with ctx.db.transaction() as tx:
        new = sd.record_excuse(tx, site_id, person_id, the_day, text, user.username, time.time())
        audit(
            ctx,
            user,
            "excuse",
            {"person_id": person_id, "class": class_name, "day": the_day.isoformat(), "reason": text, "new": new},
            request,
            site_id,
            tx,
        )
    return RedirectResponse(f"/s/{site_id}/class/{class_name}?day={the_day.isoformat()}", 303)


@router.post("/s/{site_id}/class/{class_name}/unexcuse", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def unexcuse(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    class_name: Annotated[str, Path(pattern=CLASS)],
    person_id: Annotated[str, Form(pattern=PERSON)],
    day: Annotated[str, Form(pattern=DAY)],
) -> Response:
    """Take an excuse back (entered for the wrong child or day): deleted and audited with the reason it had."""
    d = _student_of_class(ctx, user, site_id, class_name, person_id)
    the_day = parse_day(day, today(ctx, d)[0])
    with ctx.db.transaction() as tx:
        gone = sd.remove_excuse(tx, site_id, person_id, the_day)
        if gone is None:
            raise HTTPException(404, "error.no_excuse")
        audit(
            ctx,
            user,
            "excuse_removed",
            {"person_id": person_id, "class": class_name, "day": the_day.isoformat(), "reason": gone},
            request,
            site_id,
            tx,
        )
    return RedirectResponse(f"/s/{site_id}/class/{class_name}?day={the_day.isoformat()}", 303)
