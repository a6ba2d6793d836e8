"""Held absence notices: the batches the notifier held because the gates were not healthy before a cut-off
(edge/central/gates/holds.py), with why and whom they would notify; the office releases a batch (the notifier then
judges each student again: who has arrived since gets nothing) or drops it. Each decision is audited in the
transaction that records it."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from edge.central.gates import holds
from edge.central.web import i18n
from edge.central.web.deps import CtxDep, UserDep, audit, csrf_protect, language, school_for, templates
from edge.central.web.gate_alarm import alarm, reason_text, rules_of
from edge.central.web.routes.common import SITE
from edge.central.web.visibility import roles_with

router = APIRouter()
DECIDERS = roles_with("holds")


@router.get("/s/{site_id}/holds", include_in_schema=False)
def holds_page(request: Request, user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)]) -> Response:
    if user.role not in DECIDERS:
        raise HTTPException(403, "forbidden")
    school = school_for(ctx, user, site_id)
    request.state.tz = school.timezone
    tz = ZoneInfo(school.timezone)
    t = i18n.translator(language(request))
    with ctx.db.transaction() as tx:
        found = holds.batches(tx, site_id, limit=50)
        notices = {b.id: holds.notices(tx, b.id) for b in found}
    now = alarm(ctx.db, site_id, school.name, tz, rules_of(ctx.cfg), ctx.clock().timestamp())
    d = ctx.directories.get(site_id)
    guardians = {g.guardian_id: g.name for gs in (d.guardians.values() if d else []) for g in gs}
    return templates.TemplateResponse(
        request,
        "holds.html",
        {
            "school": school,
            "batches": [
                {"batch": b, "reasons": [reason_text(t, r, tz) for r in b.reasons], "notices": notices[b.id]}
                for b in found
            ],
            "gates_down": [reason_text(t, r, tz) for r in now.reasons],
            "guardians": guardians,
        },
    )


def _decide(request: Request, user: UserDep, ctx: CtxDep, site_id: str, hold_id: int, action: str) -> Response:
    if user.role not in DECIDERS:
        raise HTTPException(403, "forbidden")
    school_for(ctx, user, site_id)
    with ctx.db.transaction() as tx:
        b = holds.batch(tx, site_id, hold_id)
        if b is None:
            raise HTTPException(404, "unknown batch")
        if not holds.decide(tx, site_id, hold_id, action, user.username):
            raise HTTPException(409, "error.batch_decided")
        detail = {"hold": hold_id, "day": b.day.isoformat(), "cutoff": b.cutoff, "notices": b.notices}
        audit(ctx, user, f"absence_hold_{action}", detail, request, site_id, tx)
    return RedirectResponse(f"/s/{site_id}/holds", 303)


@router.post("/s/{site_id}/holds/{hold_id}/release", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def release(
    request: Request, user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)], hold_id: int
) -> Response:
    """The notifier queues the batch within a pass (≈1 s), each student judged again at that moment."""
    return _decide(request, user, ctx, site_id, hold_id, "release")


@router.post("/s/{site_id}/holds/{hold_id}/drop", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def drop(
    request: Request, user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)], hold_id: int
) -> Response:
    return _decide(request, user, ctx, site_id, hold_id, "drop")
