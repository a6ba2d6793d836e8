"""Today: present / late / absent / excused / not yet per class, and the latest check-ins; kept live by /live."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from edge.central.attendance.export import day_bounds
from edge.central.web import school_day as sd
from edge.central.web.deps import (
    CtxDep,
    UserDep,
    can_see_class,
    can_see_school,
    language,
    school_for,
    templates,
)
from edge.central.web.routes.common import SITE, directory, today, visible_classes
from edge.central.web.tap_words import tap_meta
from edge.central.web.visibility import can_count_class

router = APIRouter()
RECENT = 20


@router.get("/", include_in_schema=False)
def home(user: UserDep, ctx: CtxDep) -> Response:
    school = next((s for s in ctx.schools if can_see_school(user, s.id)), None)
    if school is None:
        raise HTTPException(403, "forbidden")
    page = "gates" if user.role == "guard" else "today"
    return RedirectResponse(f"/s/{school.id}/{page}", 303)


@router.get("/s/{site_id}/today", include_in_schema=False)
def today_page(
    request: Request,
    site_id: Annotated[str, Path(pattern=SITE)],
    user: UserDep,
    ctx: CtxDep,
) -> Response:
    school = school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    request.state.tz = school.timezone
    # the stream starts after what this page shows: nothing stored while it renders is lost
    live_after = ctx.live.max_id() if ctx.live is not None else None
    day, now = today(ctx, d)
    verdict = d.calendar.check(day)
    # counts of the classes the user may count (a guard: every class), names only of those they may see
    shown = [p for p in d.students.values() if can_count_class(user, site_id, p.class_name)]
    by_class = sd.school_day(ctx.db, d.calendar, site_id, shown, day, now)
    summaries = sd.summarise(by_class)
    totals = {k: sum(s.counts[k] for s in summaries) for k in (str(x) for x in sd.STATUSES)}
    lo, hi = day_bounds(day, school.timezone)
    names = {p.person_id: p for p in shown if can_see_class(user, site_id, p.class_name)}
    lang = language(request)
    recent = [r for r in sd.latest(ctx.db, site_id, lo, hi, RECENT * 10) if r["person_id"] in names][:RECENT]
    return templates.TemplateResponse(
        request,
        "today.html",
        {
            "school": school,
            "day": day,
            "verdict": verdict,
            "summaries": summaries,
            "totals": totals,
            "students_total": sum(s.students for s in summaries),
            "statuses": [str(x) for x in sd.STATUSES],
            "recent": [
                {
                    **r,
                    "person": names[r["person_id"]],
                    "meta": tap_meta(lang, r["direction"], r["method"], r["gate"], school.gates),
                }
                for r in recent
            ],
            "linkable": set(visible_classes(user, d)),
            "live_after": live_after,
            "directory_problems": ctx.directories.problems.get(site_id, []) if user.role in ("admin", "office") else [],
        },
    )
