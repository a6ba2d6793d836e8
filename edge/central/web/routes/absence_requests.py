"""The form teacher's answer to a parent's absence request, from the class page (edge/central/parents/absence.py
holds the rule: approved days become excuses, audited):

    POST /s/SITE/class/CLASS/absence-request/ID    form: decision=approve|decline
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from edge.central.parents import absence
from edge.central.web.deps import CtxDep, UserDep, client_ip, csrf_protect, school_for
from edge.central.web.routes.common import CLASS, SITE, class_students, directory

router = APIRouter()


@router.post(
    "/s/{site_id}/class/{class_name}/absence-request/{request_id}",
    include_in_schema=False,
    dependencies=[Depends(csrf_protect)],
)
async def decide(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    class_name: Annotated[str, Path(pattern=CLASS)],
    request_id: Annotated[int, Path(ge=1)],
    decision: Annotated[str, Form(pattern="^(approve|decline)$")],
) -> Response:
    if user.role not in ("admin", "office", "teacher"):
        raise HTTPException(403, "forbidden")
    school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    req = absence.get(ctx.db, site_id, request_id)
    if req is None or req.person_id not in {p.person_id for p in class_students(ctx, user, d, class_name)}:
        raise HTTPException(404, "unknown request")
    try:
        await run_in_threadpool(
            absence.decide, ctx.db, d, request_id, decision == "approve", user.username, client_ip(request),
            ctx.clock(),
        )  # fmt: skip
    except absence.RequestRefused as exc:
        raise HTTPException(409, f"error.request_{exc.reason}") from None
    return RedirectResponse(f"/s/{site_id}/class/{quote(class_name)}", 303)
