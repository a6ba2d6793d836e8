"""The month's class register: a printable page (A4 landscape, print CSS) and its PDF to file.

Who: admin and office for every class of their school, a teacher for their own classes (403 for another's), a guard
never — the same rule as the Reports (edge/central/web/routes/reports.py `resolve`, whose checks run first). The
marks are the range report's (THE rule, excuses from web-core's table), laid out by
edge/central/attendance/register.py; the PDF is rendered by edge/central/web/register_pdf.py and audited like every
report download. The language is the page's (the user's switch); the PDF also takes `lang=vi|en`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

from edge.central.attendance.labels import language
from edge.central.attendance.register import ClassRegister, class_register
from edge.central.attendance.summary import RangeError
from edge.central.web.deps import CtxDep, UserDep, audit, school_for, templates
from edge.central.web.deps import language as page_language
from edge.central.web.register_pdf import PDF_TYPE, register_pdf
from edge.central.web.routes.common import CLASS, MONTH, SITE, directory, parse_month, today
from edge.central.web.routes.reports import ReportQuery, build, resolve

router = APIRouter()
SiteP = Annotated[str, Path(pattern=SITE)]
ClassP = Annotated[str, Path(pattern=CLASS)]
MonthQ = Annotated[str | None, Query(pattern=MONTH)]
LangQ = Annotated[str | None, Query(pattern=r"^(vi|en)$")]


def _register(
    request: Request, ctx: CtxDep, user: UserDep, site_id: str, class_name: str, month: str | None, lang: str | None
) -> tuple[ReportQuery, ClassRegister]:
    school = school_for(ctx, user, site_id)
    first = parse_month(month, today(ctx, directory(ctx, site_id))[0])
    try:
        r = resolve(ctx, user, site_id, class_name, first.strftime("%Y-%m"), None, None)
    except RangeError as exc:
        raise HTTPException(422, str(exc)) from None
    chosen = language(lang or page_language(request))
    return r, class_register(build(r), school.name, class_name, first, chosen)


def pdf_filename(site_id: str, class_name: str, month: date) -> str:
    """so-diem-danh_<school>_<class>_<YYYY-MM>.pdf, only [A-Za-z0-9._-] (a class name is data)."""
    parts = ["so-diem-danh", site_id, class_name, month.strftime("%Y-%m")]
    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", p).strip("-.") or "x" for p in parts) + ".pdf"


@router.get("/s/{site_id}/class/{class_name}/register", include_in_schema=False)
def register_page(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SiteP,
    class_name: ClassP,
    month: MonthQ = None,
) -> Response:
    r, reg = _register(request, ctx, user, site_id, class_name, month, None)
    current = today(ctx, r.d)[0]
    nxt = (reg.month + timedelta(days=32)).replace(day=1)
    return templates.TemplateResponse(
        request,
        "register.html",
        {
            "school": school_for(ctx, user, site_id),
            "reg": reg,
            "prev_month": (reg.month - timedelta(days=1)).strftime("%Y-%m"),
            "next_month": nxt.strftime("%Y-%m") if nxt <= current else None,
        },
    )


@router.get("/s/{site_id}/class/{class_name}/register.pdf", include_in_schema=False)
def register_pdf_download(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SiteP,
    class_name: ClassP,
    month: MonthQ = None,
    lang: LangQ = None,
) -> Response:
    r, reg = _register(request, ctx, user, site_id, class_name, month, lang)
    body = register_pdf(reg, reg.lang)
    detail = {"what": "register_pdf", "from": r.start.isoformat(), "to": r.end.isoformat(), "classes": r.classes}
    audit(ctx, user, "report_export", detail, request, site_id)
    name = pdf_filename(site_id, class_name, reg.month)
    return Response(body, media_type=PDF_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})
