"""Roster: upload students and guardians (CSV or XLSX) → preview (added / changed / removed, errors with their
spreadsheet row numbers) → apply. Office and admin only.

The preview is kept on the server under a random id (`PreviewStore`), bound to the school and the user who made
it; the apply form sends only that id and its CSRF token, so what gets written is exactly what was shown — never
data posted back by the browser. Applying goes through edge/central/roster_import.py: one transaction of the store
(students with their enrolment dates, guardians, the school's version), audited; every process follows the new
version (the collector's notices, the notifier, the gateways' roster via the distributor) without a restart.

Uploads are capped before the body is parsed, by the app's body limit in front of routing (bodylimit.py: a
request larger than two files' cap is refused by its Content-Length, or cut off as it streams, with 413, even
without a login); the preview is parsed in the threadpool, not on the event loop that serves every page and live
stream (openpyxl on a large workbook takes seconds).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from edge.central import roster_export
from edge.central.roster_columns import synonym_rows
from edge.central.roster_import import MAX_BYTES, Preview, StaleImport, UploadError, apply_preview, make_preview
from edge.central.roster_messages import localise
from edge.central.web.accounts import User
from edge.central.web.deps import CtxDep, UserDep, audit, csrf_protect, language, school_for, templates
from edge.central.web.routes.common import SITE, directory, today
from edge.central.web.visibility import roles_with

router = APIRouter()

EDITORS = roles_with("roster")
PREVIEW_TTL_S = 30 * 60
PREVIEWS_MAX = 32
REQUEST_MAX = 2 * MAX_BYTES + 64 * 1024
"""Two files at their cap plus the form's other fields and multipart framing."""
_ID = r"^[A-Za-z0-9_-]{16,64}$"


@dataclass
class _Kept:
    preview: Preview
    site_id: str
    username: str
    made: float


class PreviewStore:
    """Previews waiting for "apply", by random id; bounded (oldest dropped) and expiring."""

    def __init__(self) -> None:
        self._items: dict[str, _Kept] = {}
        self._lock = threading.Lock()

    def put(self, preview: Preview, site_id: str, username: str) -> str:
        key = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if now - v.made < PREVIEW_TTL_S}
            while len(self._items) >= PREVIEWS_MAX:
                self._items.pop(next(iter(self._items)))
            self._items[key] = _Kept(preview, site_id, username, now)
        return key

    def take(self, key: str, site_id: str, username: str) -> Preview | None:
        """The preview, removed (one apply per preview); None if unknown, expired, or someone else's."""
        with self._lock:
            kept = self._items.get(key)
            if kept is None or kept.site_id != site_id or kept.username != username:
                return None
            del self._items[key]
        if time.monotonic() - kept.made >= PREVIEW_TTL_S:
            return None
        return kept.preview


def previews(request: Request) -> PreviewStore:
    store: PreviewStore | None = getattr(request.app.state, "roster_previews", None)
    if store is None:
        store = request.app.state.roster_previews = PreviewStore()
    return store


def _editor(user: User) -> None:
    if user.role not in EDITORS:
        raise HTTPException(403, "forbidden")


def upload_cap(request: Request) -> None:
    """413 for a body over the cap, 411 without a length: checked before the form is parsed (csrf_protect reads
    the form, so this dependency comes first)."""
    length = request.headers.get("content-length")
    if length is None:
        raise HTTPException(411, "error.upload_length")
    if not length.isdigit() or int(length) > REQUEST_MAX:
        raise HTTPException(413, "error.upload_too_large")


def _page(request: Request, ctx: Any, site_id: str, status: int = 200, **extra: Any) -> Response:
    school = ctx.school(site_id)
    d = directory(ctx, site_id)
    request.state.tz = school.timezone
    context = {
        "school": school,
        "students": len(d.students),
        "guardians": sum(len(v) for v in d.guardians.values()),
        "problems": ctx.directories.problems.get(site_id, []),
        "upload_error": None,
        "upload_error_key": None,
        "applied": False,
        "synonyms": synonym_rows("roster"),
        "guardian_synonyms": synonym_rows("guardians"),
        **extra,
    }
    return templates.TemplateResponse(request, "roster.html", context, status)


@router.get("/s/{site_id}/roster", include_in_schema=False)
def roster_page(
    request: Request, user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)], applied: int = 0
) -> Response:
    school_for(ctx, user, site_id)
    _editor(user)
    return _page(request, ctx, site_id, applied=bool(applied))


async def _read(upload: UploadFile | None) -> bytes | None:
    """The file's bytes (at most the cap + 1, so an oversized part is seen as such), None for an empty field."""
    if upload is None or (not upload.filename and not upload.size):
        return None
    data = await upload.read(MAX_BYTES + 1)
    return data if data or upload.filename else None


@router.post(
    "/s/{site_id}/roster/preview",
    include_in_schema=False,
    dependencies=[Depends(upload_cap), Depends(csrf_protect)],
)
async def preview(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    roster: Annotated[UploadFile | None, File()] = None,
    guardians: Annotated[UploadFile | None, File()] = None,
) -> Response:
    school = school_for(ctx, user, site_id)
    _editor(user)
    roster_bytes, guardian_bytes = await _read(roster), await _read(guardians)
    day, _now = today(ctx, directory(ctx, site_id))
    try:
        pv = await run_in_threadpool(
            make_preview,
            school,
            roster_bytes,
            guardian_bytes,
            default_kinds=tuple(ctx.cfg.notify.kinds),
            current=ctx.directories.state(site_id),
            today=day,
        )
    except UploadError as exc:
        return _page(request, ctx, site_id, 422, upload_error=localise(str(exc), language(request)))
    key = previews(request).put(pv, site_id, user.username) if pv.ok else None
    request.state.tz = school.timezone
    return templates.TemplateResponse(
        request,
        "roster_preview.html",
        {"school": school, "pv": pv, "preview_id": key, "say": lambda m: localise(m, language(request))},
        200 if not pv.errors else 422,
    )


@router.post("/s/{site_id}/roster/apply", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def apply(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    preview_id: Annotated[str, Form(pattern=_ID)],
) -> Response:
    school = school_for(ctx, user, site_id)
    _editor(user)
    pv = previews(request).take(preview_id, site_id, user.username)
    if pv is None:
        return _page(request, ctx, site_id, 404, upload_error_key="roster.expired")
    day, _now = today(ctx, directory(ctx, site_id))
    try:
        done = apply_preview(ctx.db, school, pv, today=day)
    except StaleImport:
        return _page(request, ctx, site_id, 409, upload_error_key="roster.stale")
    detail: dict[str, Any] = {"version": done.version}
    if done.roster is not None:
        detail["enrolled_from"] = day.isoformat()
        detail["left"] = done.roster.left
    for name, d in (("students", pv.roster), ("guardians", pv.guardians)):
        if d is not None:
            detail[name] = {
                "added": [r.get("guardian_id") or r["person_id"] for r in d.added],
                "changed": [c.key for c in d.changed],
                "removed": [r.get("guardian_id") or r["person_id"] for r in d.removed],
            }
    audit(ctx, user, "roster.apply", detail, request, site_id)
    ctx.directories.reload(site_id)
    return RedirectResponse(f"/s/{site_id}/roster?applied=1", 303)


# the template and the export -------------------------------------------------------------------------------------


def _file(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/s/{site_id}/roster/template.xlsx", include_in_schema=False)
def template(request: Request, user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)]) -> Response:
    """The workbook to fill in: the school's language's headers, one example row, card column as Text."""
    school_for(ctx, user, site_id)
    _editor(user)
    lang = language(request)
    return _file(roster_export.template_xlsx(lang), roster_export.XLSX_TYPE, f"{site_id}-roster-template-{lang}.xlsx")


@router.get("/s/{site_id}/roster/export.{fmt}", include_in_schema=False)
def export(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    fmt: Annotated[str, Path(pattern=r"^(xlsx|csv)$")],
) -> Response:
    """The students enrolled today, in the import's format (upload it back unchanged: nothing changes)."""
    school_for(ctx, user, site_id)
    _editor(user)
    d = directory(ctx, site_id)
    day, _now = today(ctx, d)
    people = [p for p in d.students.values() if p.enrolled_on(day)]
    lang = language(request)
    name = f"{site_id}-roster-{day.isoformat()}.{fmt}"
    audit(ctx, user, "roster.export", {"format": fmt, "students": len(people)}, request, site_id)
    if fmt == "xlsx":
        return _file(roster_export.roster_xlsx(people, lang), roster_export.XLSX_TYPE, name)
    return _file(roster_export.roster_csv(people, lang), roster_export.CSV_TYPE, name)
