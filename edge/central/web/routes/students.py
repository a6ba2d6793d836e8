"""Student: history by month, guardians, card UID, face enrolled yes/no (never templates or photos)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from edge.central.web import school_day as sd
from edge.central.web.deps import CtxDep, UserDep, school_for, templates
from edge.central.web.routes.common import MONTH, PERSON, SITE, directory, parse_month, student, today

router = APIRouter()


@router.get("/s/{site_id}/student/{person_id}", include_in_schema=False)
def student_page(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    person_id: Annotated[str, Path(pattern=PERSON)],
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
) -> Response:
    school = school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    request.state.tz = school.timezone
    person = student(user, d, person_id)
    current, now = today(ctx, d)
    the_month = parse_month(month, current)
    days = sd.student_month(ctx.db, d.calendar, site_id, person, the_month, now)
    counts = {s: sum(1 for x in days if x.status == s) for s in ("present", "late", "absent", "excused")}
    prev_month = (the_month - timedelta(days=1)).strftime("%Y-%m")
    next_first = (the_month + timedelta(days=32)).replace(day=1)
    return templates.TemplateResponse(
        request,
        "student.html",
        {
            "school": school,
            "person": person,
            "guardians": d.guardians.get(person.person_id, []),
            "face_enrolled": bool(person.photos),
            "month": the_month,
            "days": days,
            "counts": counts,
            "prev_month": prev_month,
            "next_month": next_first.strftime("%Y-%m") if next_first <= current else None,
        },
    )
