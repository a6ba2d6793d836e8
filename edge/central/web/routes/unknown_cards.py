"""Unknown cards: today's and the last 7 days' taps of cards no student holds, UID masked (unknown_cards.py), for
whoever watches the gates (the office, the guard, the admin: visibility.py's `gates` right)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

from edge.central.attendance.export import day_bounds
from edge.central.web.deps import CtxDep, UserDep, language, school_for, templates
from edge.central.web.routes.common import SITE, directory, today
from edge.central.web.unknown_cards import unknown_taps
from edge.central.web.visibility import roles_with

router = APIRouter()
VIEWERS = roles_with("gates")
PERIODS = {"today": 1, "week": 7}


@router.get("/s/{site_id}/unknown-cards", include_in_schema=False)
def unknown_cards_page(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    period: Annotated[str, Query(pattern=r"^(today|week)$")] = "today",
) -> Response:
    school = school_for(ctx, user, site_id)
    if user.role not in VIEWERS:
        raise HTTPException(403, "forbidden")
    d = directory(ctx, site_id)
    request.state.tz = school.timezone
    day, _now = today(ctx, d)
    first = day - timedelta(days=PERIODS[period] - 1)
    lo, hi = day_bounds(first, school.timezone)[0], day_bounds(day, school.timezone)[1]
    taps = unknown_taps(ctx.db, site_id, lo, hi, dict(school.gates), language(request))
    return templates.TemplateResponse(
        request,
        "unknown_cards.html",
        {"school": school, "taps": taps, "period": period, "first": first, "day": day},
    )
