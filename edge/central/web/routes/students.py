"""Student: history by month, guardians, card UID, face enrolled yes/no from the centre's gallery (never templates
or photos); the office's enrol / remove forms are routes/enrol.py."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from edge.central.parents import consent
from edge.central.parents import sessions as parent_sessions
from edge.central.web import school_day as sd
from edge.central.web.accounts import User
from edge.central.web.context import WebContext
from edge.central.web.deps import CtxDep, UserDep, may_see_card_uid, school_for, templates
from edge.central.web.enrolment import EnrolmentError, FaceStatus
from edge.central.web.routes.common import MONTH, PERSON, SITE, directory, parse_month, student, today
from edge.central.web.visibility import roles_with

log = logging.getLogger(__name__)
router = APIRouter()


ENROLLERS = roles_with("enrol")
"""Who may enrol or remove a student's face (teachers and guards see the yes/no only)."""


def face_status(ctx: WebContext, site_id: str, person_id: str) -> FaceStatus | None:
    """From the centre's sealed gallery (never templates or photos); None when this server has no centre link or
    the gallery cannot be opened (logged: the page still shows the rest)."""
    if ctx.enrolment is None:
        return None
    try:
        return ctx.enrolment.status(site_id, person_id)
    except EnrolmentError as exc:
        log.error("face status of %s/%s: %s", site_id, person_id, exc)
        return None


def consent_box(ctx: WebContext, site_id: str, person_id: str, message: str | None) -> dict[str, Any]:
    """The consent box's facts (templates/parents/_consent.html): the latest decision, its history, and each
    gateway's installed gallery version (the confirmation that a withdrawn face left the gates)."""
    return {
        "consent": consent.current(ctx.db, site_id, person_id),
        "consent_history": consent.history(ctx.db, site_id, person_id),
        "consent_message": message,
        "gateways": ctx.gates.gateways(site_id) if ctx.gates is not None else [],
        "parent_devices": parent_sessions.active_count(ctx.db, site_id, person_id),
        "removal_version": consent.removal_version(ctx.db, site_id, person_id),
    }


def render_student(
    request: Request,
    ctx: WebContext,
    user: User,
    site_id: str,
    person_id: str,
    month: str | None = None,
    *,
    face_notice: dict[str, Any] | None = None,
    face_error: str | None = None,
    consent_message: str | None = None,
    status: int = 200,
) -> Response:
    """The Student page; the enrolment routes render it too, with the outcome of the upload or removal."""
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
            "face": face_status(ctx, site_id, person.person_id),
            "may_enrol": user.role in ENROLLERS and ctx.enrolment is not None,
            "show_card": may_see_card_uid(user),
            "face_notice": face_notice,
            "face_error": face_error,
            **consent_box(ctx, site_id, person.person_id, consent_message),
            "max_upload_mb": ctx.settings.max_upload_bytes / (1024 * 1024),
            "month": the_month,
            "days": days,
            "counts": counts,
            "prev_month": prev_month,
            "next_month": next_first.strftime("%Y-%m") if next_first <= current else None,
        },
        status,
    )


@router.get("/s/{site_id}/student/{person_id}", include_in_schema=False)
def student_page(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    person_id: Annotated[str, Path(pattern=PERSON)],
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
) -> Response:
    return render_student(request, ctx, user, site_id, person_id, month)
