"""The record of processing on the Admin pages (admin only), generated from central.yaml in the viewer's language:

GET /admin/privacy     the record (what data, why, who may see it, recipients, how long it is kept)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from edge.central.parents.processing import school_records
from edge.central.web.deps import CtxDep, language, require_roles, templates

router = APIRouter(prefix="/admin", dependencies=[Depends(require_roles("admin"))])


@router.get("/privacy", include_in_schema=False)
def privacy_record(request: Request, ctx: CtxDep) -> Response:
    records = school_records(ctx.cfg, language(request))
    return templates.TemplateResponse(request, "parents/processing.html", {"records": records})
