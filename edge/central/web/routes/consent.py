"""Consent to face recognition and the child's data, from the Student page (office, admin):

    POST /s/SITE/student/ID/consent            form: given_by, note   the office records a paper consent form
    POST /s/SITE/student/ID/consent/withdraw   form: given_by, note   withdrawn: templates deleted and republished
    GET  /s/SITE/student/ID/data.json          everything the school holds about the child (JSON)
    GET  /s/SITE/student/ID/data.html | data.pdf   the same as a readable document (page, PDF)

The rules are edge/central/parents/consent.py's; this module only checks who may ask and shows the outcome.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from edge.central.parents import child_data, consent, sessions
from edge.central.parents.child_pdf import child_pdf
from edge.central.web.accounts import User
from edge.central.web.context import WebContext
from edge.central.web.deps import CtxDep, UserDep, audit, client_ip, csrf_protect, language, school_for, templates
from edge.central.web.enrolment import EnrolmentError
from edge.central.web.i18n import translate
from edge.central.web.routes.common import PERSON, SITE, directory, student
from edge.central.web.routes.students import ENROLLERS, render_student

log = logging.getLogger(__name__)
router = APIRouter()
SitePath = Annotated[str, Path(pattern=SITE)]
PersonPath = Annotated[str, Path(pattern=PERSON)]
Who = Annotated[str, Form(max_length=consent.MAX_TEXT)]
Note = Annotated[str, Form(max_length=consent.MAX_TEXT)]


def _office(ctx: WebContext, user: User, site_id: str, person_id: str) -> None:
    """Office and admin of the school (403 otherwise), for a student the school holds (404)."""
    if user.role not in ENROLLERS:
        raise HTTPException(403, "forbidden")
    school_for(ctx, user, site_id)
    student(user, directory(ctx, site_id), person_id)


@router.post("/s/{site_id}/student/{person_id}/consent", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def give_consent(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SitePath,
    person_id: PersonPath,
    given_by: Who,
    note: Note = "",
) -> Response:
    _office(ctx, user, site_id, person_id)
    lang = language(request)
    try:
        consent.give(
            ctx.db,
            site_id,
            person_id,
            given_by=given_by,
            method="paper",
            recorded_by=user.username,
            ip=client_ip(request),
            note=note,
        )
    except consent.ConsentInputError as exc:
        text = f"{translate(lang, 'consent.err.input')} {translate(lang, _input_problem(exc))}"
        return render_student(request, ctx, user, site_id, person_id, consent_message=text, status=422)
    return render_student(request, ctx, user, site_id, person_id, consent_message=translate(lang, "consent.done_given"))


def _input_problem(exc: consent.ConsentInputError) -> str:
    """The catalog key of what was wrong with the form (edge/central/parents/consent.py says it in English for
    the CLI): nobody named, too long, control characters."""
    said = str(exc)
    if "is empty" in said:
        return "consent.err.who_empty"
    if "longer than" in said:
        return "consent.err.too_long"
    return "consent.err.control"


@router.post(
    "/s/{site_id}/student/{person_id}/consent/withdraw", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
async def withdraw_consent(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SitePath,
    person_id: PersonPath,
    given_by: Who,
    note: Note = "",
) -> Response:
    _office(ctx, user, site_id, person_id)
    lang = language(request)
    try:
        out = await run_in_threadpool(
            consent.withdraw,
            ctx.db,
            ctx.enrolment,
            site_id,
            person_id,
            given_by=given_by,
            method="paper",
            recorded_by=user.username,
            ip=client_ip(request),
            note=note,
        )
    except consent.ConsentInputError as exc:
        text = f"{translate(lang, 'consent.err.input')} {translate(lang, _input_problem(exc))}"
        return render_student(request, ctx, user, site_id, person_id, consent_message=text, status=422)
    except EnrolmentError as exc:  # the withdrawal is recorded; the templates could not be removed now
        log.warning("consent withdrawn for %s/%s, templates not removed: %s", site_id, person_id, exc)
        text = translate(lang, "consent.err.not_removed")
        return render_student(request, ctx, user, site_id, person_id, consent_message=text, status=500)
    notice = None
    if out.removed is not None:
        r = out.removed
        notice = {"action": r.action, "version": r.version, "publish_error": r.publish_error}
    return render_student(
        request,
        ctx,
        user,
        site_id,
        person_id,
        face_notice=notice,
        consent_message=translate(lang, "consent.done_withdrawn"),
    )


@router.post(
    "/s/{site_id}/student/{person_id}/parent-devices/end",
    include_in_schema=False,
    dependencies=[Depends(csrf_protect)],
)
def end_parent_devices(
    request: Request, user: UserDep, ctx: CtxDep, site_id: SitePath, person_id: PersonPath
) -> Response:
    """The office signs out every device of the student's guardians in the parents' app (a lost phone)."""
    _office(ctx, user, site_id, person_id)
    guardians = directory(ctx, site_id).guardians.get(person_id, [])
    n = sum(sessions.end_all(ctx.db, site_id, g.guardian_id, f"office:{user.username}") for g in guardians)
    detail = {"person_id": person_id, "guardians": [g.guardian_id for g in guardians], "devices": n}
    audit(ctx, user, "parent_devices_end", detail, request, site_id)
    return render_student(request, ctx, user, site_id, person_id, consent_message=translate(language(request),
                          "consent.devices_ended", n=n))  # fmt: skip


def _export(
    request: Request, ctx: WebContext, user: User, site_id: str, person_id: str, form: str
) -> dict[str, object]:
    _office(ctx, user, site_id, person_id)
    d = directory(ctx, site_id)
    data = child_data.collect(ctx.db, d, ctx.enrolment, person_id, ctx.clock())
    audit(ctx, user, "child_data_export", {"person_id": person_id, "format": form}, request, site_id)
    return data


@router.get("/s/{site_id}/student/{person_id}/data.json", include_in_schema=False)
def export_json(request: Request, user: UserDep, ctx: CtxDep, site_id: SitePath, person_id: PersonPath) -> Response:
    data = _export(request, ctx, user, site_id, person_id, "json")
    return Response(
        child_data.to_json(data),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{person_id}-data.json"'},
    )


@router.get("/s/{site_id}/student/{person_id}/data.pdf", include_in_schema=False)
async def export_pdf(
    request: Request, user: UserDep, ctx: CtxDep, site_id: SitePath, person_id: PersonPath
) -> Response:
    data = _export(request, ctx, user, site_id, person_id, "pdf")
    school = school_for(ctx, user, site_id)
    pdf = await run_in_threadpool(child_pdf, data, language(request), school.timezone)
    disposition = f'attachment; filename="{person_id}-data.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.get("/s/{site_id}/student/{person_id}/data.html", include_in_schema=False)
def export_html(request: Request, user: UserDep, ctx: CtxDep, site_id: SitePath, person_id: PersonPath) -> Response:
    data = _export(request, ctx, user, site_id, person_id, "html")
    school = school_for(ctx, user, site_id)
    request.state.tz = school.timezone
    return templates.TemplateResponse(request, "parents/child_data.html", {"data": data, "school": school})
