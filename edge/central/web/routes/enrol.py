"""Face enrolment from the Student page and the API (office and admin): one photo in, one template into the
centre's sealed gallery, the new gallery version signed and announced to the site's gateways (enrolment.py).

The photo never touches the disk: the body is read with a size cap while it arrives (a huge upload is refused
after cap bytes, not after it has been spooled in full), a multipart form is parsed in memory (Starlette's parser
would spool a file part above 1 MiB to a temporary file), OpenCV decodes from the bytes, and only the template is
kept. So the CSRF token of the upload form is checked here, after that parse, rather than by `csrf_protect`
(which would parse the form first, with spooling).

    POST   /s/SITE/student/ID/face            multipart form: csrf_token, photo      -> the Student page
    POST   /s/SITE/student/ID/face/remove     form: csrf_token                        -> the Student page
    POST   /api/v1/schools/SITE/students/ID/face   image/jpeg|image/png body, or the multipart form -> JSON
    DELETE /api/v1/schools/SITE/students/ID/face                                      -> JSON
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from edge.central.parents import consent
from edge.central.web import csrf
from edge.central.web.accounts import User
from edge.central.web.context import WebContext
from edge.central.web.deps import CtxDep, UserDep, audit, csrf_protect, is_api, language, school_for
from edge.central.web.enrolment import EnrolmentError, EnrolmentLink, EnrolOutcome
from edge.central.web.i18n import translate
from edge.central.web.photo import PhotoRefused
from edge.central.web.routes.common import PERSON, SITE, directory, student
from edge.central.web.routes.students import ENROLLERS, render_student

log = logging.getLogger(__name__)
router = APIRouter()
FORM_OVERHEAD = 64 * 1024
"""Bytes a multipart form adds around the photo (boundaries, headers, the CSRF field)."""
PHOTO_TYPES = ("image/jpeg", "image/png", "application/octet-stream")
STATUS = {
    "too_large": 413,
    "not_image": 415,
    "too_many": 409,
    "already_enrolled": 409,
    "not_enrolled": 404,
    "no_consent": 409,
}


class UploadRefused(Exception):
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


class FaceOut(BaseModel):
    """What changed, never a template: the student's template count and the gallery version announced."""

    person_id: str
    face_enrolled: bool
    templates: int
    model: str
    gallery_version: int | None
    published: bool
    publish_error: str | None


class _InMemoryParser(MultiPartParser):
    spool_max_size = 64 * 1024 * 1024
    """Above any cap the app allows: a file part stays in memory (the body is capped before parsing)."""


def _enroller(request: Request, user: UserDep, ctx: CtxDep) -> EnrolmentLink:
    """403 for teachers and guards; 503 when this server has no centre link. Runs before any body is read."""
    if user.role not in ENROLLERS:
        raise HTTPException(403, "forbidden")
    if ctx.enrolment is None:
        raise HTTPException(503, "error.no_centre_link")
    return ctx.enrolment


LinkDep = Annotated[EnrolmentLink, Depends(_enroller)]


def _check_student(ctx: WebContext, user: User, site_id: str, person_id: str) -> None:
    school_for(ctx, user, site_id)
    student(user, directory(ctx, site_id), person_id)  # 404 unknown, 403 not visible


async def _capped_body(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise UploadRefused(413, "too_large", f"{int(declared)} bytes: at most {cap} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise UploadRefused(413, "too_large", f"more than {cap} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def _photo_of(request: Request, cap: int) -> tuple[bytes, str | None]:
    """(photo bytes, the form's csrf_token) from a multipart form (field `photo`) or a bare image body."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        body = await _capped_body(request, cap + FORM_OVERHEAD)

        async def once() -> AsyncGenerator[bytes, None]:
            yield body

        try:
            form = await _InMemoryParser(request.headers, once(), max_files=1, max_fields=4, max_part_size=4096).parse()
        except MultiPartException as exc:
            raise UploadRefused(400, "bad_form", str(exc)) from None
        try:
            token = form.get(csrf.FIELD)
            upload = form.get("photo")
            data = await upload.read() if isinstance(upload, UploadFile) else b""
        finally:
            await form.close()
        if len(data) > cap:
            raise UploadRefused(413, "too_large", f"{len(data)} bytes: at most {cap} bytes")
        if not data:
            raise UploadRefused(422, "no_photo", "no photo in the form (field `photo`)")
        return data, token if isinstance(token, str) else None
    if ctype in PHOTO_TYPES:
        data = await _capped_body(request, cap)
        if not data:
            raise UploadRefused(422, "no_photo", "empty body: send the photo's bytes")
        return data, None
    raise UploadRefused(415, "not_image", f"send a JPEG or PNG photo (image/jpeg, image/png), not {ctype or 'nothing'}")


def _check_csrf(request: Request, form_token: str | None) -> None:
    session = getattr(request.state, "session", None)
    if session is None:  # an API token: no cookie, nothing to forge
        return
    given = request.headers.get(csrf.HEADER) or form_token
    if not csrf.matches(session.csrf, given):
        raise HTTPException(403, "csrf")


def _audit(ctx: WebContext, user: User, request: Request, site_id: str, out: EnrolOutcome) -> None:
    """Who, what, from where — the count and version, never the photo or a template."""
    detail: dict[str, Any] = {
        "person_id": out.person_id,
        "templates": out.templates,
        "model": out.model,
        "gallery_version": out.version,
    }
    if out.publish_error:
        detail["publish_error"] = out.publish_error
    audit(ctx, user, f"face_{'enrol' if out.action == 'enrolled' else 'remove'}", detail, request, site_id)


def _face_out(out: EnrolOutcome) -> FaceOut:
    return FaceOut(
        person_id=out.person_id,
        face_enrolled=out.templates > 0,
        templates=out.templates,
        model=out.model,
        gallery_version=out.version,
        published=out.version is not None,
        publish_error=out.publish_error,
    )


def _refusal(request: Request, ctx: WebContext, user: User, site_id: str, person_id: str, exc: Exception) -> Response:
    if isinstance(exc, UploadRefused):
        status, reason, detail = exc.status, exc.reason, exc.detail
    elif isinstance(exc, PhotoRefused):
        status, reason, detail = STATUS.get(exc.reason, 422), exc.reason, exc.detail
    else:
        status, reason, detail = 500, "gallery", str(exc)
    if is_api(request):
        return JSONResponse({"detail": detail, "reason": reason}, status)
    # the page says why in the office's words; the measured detail ("sharpness 12 < 40") is English for the log
    log.info("face photo for %s/%s refused: %s (%s)", site_id, person_id, reason, detail)
    text = translate(language(request), f"face.err.{reason}")
    return render_student(request, ctx, user, site_id, person_id, face_error=text, status=status)


async def _enrol(
    request: Request, ctx: WebContext, user: User, link: EnrolmentLink, site_id: str, person_id: str
) -> EnrolOutcome | Response:
    _check_student(ctx, user, site_id, person_id)
    try:  # before the body is read: without consent no photo of the child is even taken in
        consent.require_consent(ctx.db, site_id, person_id)
    except consent.ConsentMissing as exc:
        return _refusal(request, ctx, user, site_id, person_id, PhotoRefused("no_consent", str(exc)))
    try:
        photo, token = await _photo_of(request, ctx.settings.max_upload_bytes)
    except UploadRefused as exc:  # nothing changes, so the refusal needs no token (one may not be readable)
        return _refusal(request, ctx, user, site_id, person_id, exc)
    _check_csrf(request, token)
    try:
        out = await run_in_threadpool(link.enrol, site_id, person_id, photo)
    except (PhotoRefused, EnrolmentError) as exc:
        return _refusal(request, ctx, user, site_id, person_id, exc)
    _audit(ctx, user, request, site_id, out)
    return out


def _remove(
    request: Request, ctx: WebContext, user: User, link: EnrolmentLink, site_id: str, person_id: str
) -> EnrolOutcome | Response:
    _check_student(ctx, user, site_id, person_id)
    try:
        out = link.remove(site_id, person_id)
    except EnrolmentError as exc:
        return _refusal(request, ctx, user, site_id, person_id, exc)
    if out is None:
        refused = PhotoRefused("not_enrolled", f"{person_id} has no face enrolled")
        return _refusal(request, ctx, user, site_id, person_id, refused)
    _audit(ctx, user, request, site_id, out)
    return out


# pages -------------------------------------------------------------------------------------------------------
def _student_page(
    request: Request, ctx: WebContext, user: User, site_id: str, person_id: str, out: EnrolOutcome | Response
) -> Response:
    """The refusal as it is, or the Student page with what was done (the new gallery version, a publish error)."""
    if isinstance(out, Response):
        return out
    notice = {"action": out.action, "version": out.version, "publish_error": out.publish_error}
    return render_student(request, ctx, user, site_id, person_id, face_notice=notice)


@router.post("/s/{site_id}/student/{person_id}/face", include_in_schema=False)
async def enrol_form(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    link: LinkDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    person_id: Annotated[str, Path(pattern=PERSON)],
) -> Response:
    out = await _enrol(request, ctx, user, link, site_id, person_id)
    return _student_page(request, ctx, user, site_id, person_id, out)


@router.post("/s/{site_id}/student/{person_id}/face/remove", include_in_schema=False)
def remove_form(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    link: LinkDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    person_id: Annotated[str, Path(pattern=PERSON)],
    _csrf: Annotated[None, Depends(csrf_protect)],
) -> Response:
    out = _remove(request, ctx, user, link, site_id, person_id)
    return _student_page(request, ctx, user, site_id, person_id, out)


# API ---------------------------------------------------------------------------------------------------------
@router.post(
    "/api/v1/schools/{site_id}/students/{person_id}/face",
    response_model=FaceOut,
    tags=["v1"],
    responses={409: {}, 413: {}, 415: {}, 422: {}, 503: {}},
)
async def enrol_api(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    link: LinkDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    person_id: Annotated[str, Path(pattern=PERSON)],
) -> Response:
    """Enrol the student's face from one photo (office, admin): the body is the JPEG/PNG itself (Content-Type
    image/jpeg or image/png) or a multipart form with `photo`. The photo is not kept; the new gallery version is
    signed and announced to the school's gateways. 422 with a `reason` when the photo gives no template."""
    out = await _enrol(request, ctx, user, link, site_id, person_id)
    return out if isinstance(out, Response) else JSONResponse(_face_out(out).model_dump())


@router.delete(
    "/api/v1/schools/{site_id}/students/{person_id}/face",
    response_model=FaceOut,
    tags=["v1"],
    dependencies=[Depends(csrf_protect)],
)
def remove_api(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    link: LinkDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    person_id: Annotated[str, Path(pattern=PERSON)],
) -> Response:
    """Remove every face template of the student (office, admin) and announce the new gallery version."""
    out = _remove(request, ctx, user, link, site_id, person_id)
    return out if isinstance(out, Response) else JSONResponse(_face_out(out).model_dump())
