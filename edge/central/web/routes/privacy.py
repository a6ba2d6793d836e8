"""The record of processing on the Admin pages (admin only), generated from central.yaml:

GET /admin/privacy     the record (what data, why, who may see it, recipients, how long it is kept)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from edge.central.parents.processing import record
from edge.central.web.deps import CtxDep, require_roles, templates

router = APIRouter(prefix="/admin", dependencies=[Depends(require_roles("admin"))])


@router.get("/privacy", include_in_schema=False)
def privacy_record(request: Request, ctx: CtxDep) -> Response:
    return templates.TemplateResponse(request, "parents/processing.html", {"record": record(ctx.cfg)})
