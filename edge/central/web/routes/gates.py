"""Gates: each gateway's state (retained status, last seen, outbox, fps, alarms, versions); "open gate" for
guards and admins — a command signed with the server's key, its result shown, the attempt audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import Response

from edge.central.collector.dead_letters import Replayed, list_dead_letters, replay
from edge.central.notify.hook import NotifyHook
from edge.central.web.accounts import User
from edge.central.web.alarm_words import alarm_words
from edge.central.web.command_errors import error_words
from edge.central.web.context import WebContext
from edge.central.web.deps import CtxDep, UserDep, audit, client_ip, csrf_protect, language, school_for, templates
from edge.central.web.routes.common import SITE
from edge.central.web.visibility import roles_with

router = APIRouter()
GATEWAY = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
GATE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
VIEWERS = roles_with("gates")
OPENERS = roles_with("open_gate")
REPLAYERS = roles_with("dead_letters")
DEAD_LETTER_ROWS = 50


def gateway_rows(ctx: WebContext, site_id: str) -> list[dict[str, Any]]:
    return ctx.gates.gateways(site_id) if ctx.gates is not None else []


def open_gate(
    ctx: WebContext, user: User, request: Request, site_id: str, gateway_id: str, gate: str | None
) -> dict[str, Any]:
    """Send open_gate and wait for the result; audited before sending (the attempt) and after (the outcome)."""
    if user.role not in OPENERS:
        raise HTTPException(403, "forbidden")
    if ctx.commands is None:
        raise HTTPException(503, "error.no_command_link")
    if ctx.gates is not None and not ctx.gates.known(site_id, gateway_id):
        raise HTTPException(404, "unknown gateway")
    req: dict[str, Any] = {} if not gate else {"gate": gate}
    audit(ctx, user, "open_gate_sent", {"gateway": gateway_id, "gate": gate}, request, site_id)
    result = ctx.commands.send(site_id, gateway_id, "open_gate", req, ctx.settings.command_timeout_s)
    audit(
        ctx,
        user,
        "open_gate_result",
        {"gateway": gateway_id, "gate": gate, "ok": bool(result.get("ok")), "error": result.get("error")},
        request,
        site_id,
    )
    return result


def _page(
    request: Request,
    ctx: WebContext,
    user: User,
    site_id: str,
    result: dict[str, Any] | None,
    replayed: list[Replayed] | None = None,
) -> Response:
    school = school_for(ctx, user, site_id)
    request.state.tz = school.timezone
    dead = list_dead_letters(ctx.db, site_id=site_id, limit=DEAD_LETTER_ROWS) if user.role in REPLAYERS else []
    return templates.TemplateResponse(
        request,
        "gates.html",
        {
            "school": school,
            "gateways": gateway_rows(ctx, site_id),
            "linked": ctx.gates is not None,
            "may_open": user.role in OPENERS and ctx.commands is not None,
            "result": result,
            "may_replay": user.role in REPLAYERS,
            "dead_letters": dead,
            "replayed": replayed or [],
            "alarm": lambda line: alarm_words(language(request), line),
        },
    )


@router.get("/s/{site_id}/gates", include_in_schema=False)
def gates_page(request: Request, user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)]) -> Response:
    if user.role not in VIEWERS:
        raise HTTPException(403, "forbidden")
    return _page(request, ctx, user, site_id, None)


@router.post("/s/{site_id}/gates/{gateway_id}/open", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def open_gate_form(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    gateway_id: Annotated[str, Path(pattern=GATEWAY)],
    gate: Annotated[str, Form(pattern=r"^$|" + GATE[1:])] = "",
) -> Response:
    school_for(ctx, user, site_id)
    result = open_gate(ctx, user, request, site_id, gateway_id, gate or None)
    words = error_words(result, language(request))
    return _page(request, ctx, user, site_id, {**result, "gateway_id": gateway_id, "gate": gate, "words": words})


@router.post(
    "/s/{site_id}/gates/dead-letters/{dead_letter_id}/replay",
    include_in_schema=False,
    dependencies=[Depends(csrf_protect)],
)
def replay_dead_letter(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    dead_letter_id: Annotated[int, Path(ge=1)],
) -> Response:
    """Replay one of this school's dead letters (edge/central/collector/dead_letters.py): stored once, audited."""
    if user.role not in REPLAYERS:
        raise HTTPException(403, "forbidden")
    school_for(ctx, user, site_id)
    directory = ctx.directories.get(site_id)
    hook = NotifyHook({site_id: directory}) if directory is not None else None
    done = replay(
        ctx.store,
        ctx.db,
        [dead_letter_id],
        by=user.username,
        ip=client_ip(request),
        on_stored=hook,
        site_id=site_id,
    )
    if done[0].outcome == "not_found":
        raise HTTPException(404, "unknown dead letter")
    return _page(request, ctx, user, site_id, None, done)
