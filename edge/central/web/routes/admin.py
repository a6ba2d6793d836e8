"""Admin pages: staff accounts (list, add, change role and classes, reset a password, disable / enable) and the
audit log. The same Accounts methods as `edge server user …`; a school and classes are checked against the store
(spelt as the roster writes them); every change is audited with who made it and from where."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from edge.central.parents import retention
from edge.central.web import audit as audit_log
from edge.central.web.accounts import LEAST_PRIVILEGE, ROLES, USERNAME, AccountError, User
from edge.central.web.deps import CtxDep, audit, csrf_protect, language, require_roles, templates

router = APIRouter(prefix="/admin", dependencies=[Depends(require_roles("admin"))])
AUDIT_ROWS = 200


def _users_page(request: Request, ctx: CtxDep, error: str | None = None, status: int = 200) -> Response:
    """A school's admin sees that school's accounts only; the district admin (no school) sees every account."""
    admin: User = request.state.user
    users = [u for u in ctx.accounts.list() if admin.site_id is None or u.site_id == admin.site_id]
    schools = [s for s in ctx.schools if admin.site_id is None or s.id == admin.site_id]
    return templates.TemplateResponse(
        request,
        "admin_users.html",
        {
            "users": users,
            "roles": ROLES,
            "default_role": LEAST_PRIVILEGE,
            "error": error,
            "schools": schools,
            "retention": ctx.cfg.retention,
            "retention_last": retention.last_run(ctx.db),
        },
        status,
    )


@router.get("/users", include_in_schema=False)
def users(request: Request, ctx: CtxDep) -> Response:
    return _users_page(request, ctx)


@router.post("/users", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def add_user(
    request: Request,
    ctx: CtxDep,
    username: Annotated[str, Form(max_length=32)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=16)] = LEAST_PRIVILEGE,
    classes: Annotated[str, Form(max_length=500)] = "",
    site_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    admin = request.state.user
    if site_id and ctx.school(site_id) is None:
        return _users_page(request, ctx, f"unknown school {site_id!r}", 422)
    if admin.site_id is not None and site_id != admin.site_id:
        raise HTTPException(403, "an admin of one school adds accounts of that school only")
    wanted = _classes(classes)
    try:
        ctx.accounts.check_scope(site_id or None, wanted)
        user = ctx.accounts.add(username.strip().lower(), password, role, site_id=site_id or None, classes=wanted)
    except AccountError as exc:
        return _users_page(request, ctx, str(exc), 422)
    audit(ctx, admin, "user_add", {"user": user.username, "role": user.role, "classes": list(user.classes)}, request,
          user.site_id)  # fmt: skip
    return RedirectResponse("/admin/users", 303)


def _classes(text: str) -> list[str]:
    return [c.strip() for c in text.replace(";", ",").split(",") if c.strip()]


def _target(request: Request, ctx: CtxDep, username: str) -> User:
    """The account an admin changes: one of their school's (the district admin: any)."""
    target = ctx.accounts.get(username)
    if target is None:
        raise HTTPException(404, "unknown user")
    if request.state.user.site_id is not None and target.site_id != request.state.user.site_id:
        raise HTTPException(403, "forbidden")
    return target


@router.post("/users/{username}/change", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def change_user(
    request: Request,
    ctx: CtxDep,
    username: Annotated[str, Path(pattern=USERNAME.pattern)],
    role: Annotated[str, Form(max_length=16)],
    classes: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A new role and classes; a role changed or a class taken away ends the account's sessions (and live view)."""
    admin: User = request.state.user
    target = _target(request, ctx, username)
    if username == admin.username and role != admin.role:
        return _users_page(request, ctx, "you cannot change your own role", 422)
    wanted = _classes(classes)
    try:
        if wanted:
            ctx.accounts.check_scope(target.site_id, wanted)
        user = ctx.accounts.change(username, role=role, classes=wanted)
    except AccountError as exc:
        return _users_page(request, ctx, str(exc), 422)
    if ctx.live is not None and (user.role != target.role or not set(user.classes) >= set(target.classes)):
        ctx.live.end_user(username)
    detail = {"user": username, "role": [target.role, user.role], "classes": [list(target.classes), list(user.classes)]}
    audit(ctx, admin, "user_change", detail, request, target.site_id)
    return RedirectResponse("/admin/users", 303)


@router.post("/users/{username}/password", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def reset_password(
    request: Request,
    ctx: CtxDep,
    username: Annotated[str, Path(pattern=USERNAME.pattern)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """A new password set by an admin (a forgotten one): the account's sessions end and its API tokens go."""
    admin: User = request.state.user
    target = _target(request, ctx, username)
    try:
        ctx.accounts.set_password(username, password)
    except AccountError as exc:
        return _users_page(request, ctx, str(exc), 422)
    if ctx.live is not None:
        ctx.live.end_user(username)
    audit(ctx, admin, "user_passwd", {"user": username}, request, target.site_id)
    return RedirectResponse("/admin/users", 303)


@router.post("/users/{username}/disable", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def disable_user(
    request: Request,
    ctx: CtxDep,
    username: Annotated[str, Path(pattern=USERNAME.pattern)],
    enable: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    admin = request.state.user
    if username == admin.username and not enable:
        return _users_page(request, ctx, "you cannot disable your own account", 422)
    target = ctx.accounts.get(username)
    if target is None:
        raise HTTPException(404, "unknown user")
    if admin.site_id is not None and target.site_id != admin.site_id:
        raise HTTPException(403, "forbidden")
    ctx.accounts.set_disabled(username, not enable)
    if not enable and ctx.live is not None:
        ctx.live.end_user(username)  # an open live stream ends now, not at its next re-check
    audit(ctx, admin, "user_enable" if enable else "user_disable", {"user": username}, request, target.site_id)
    return RedirectResponse("/admin/users", 303)


@router.get("/audit", include_in_schema=False)
def audit_page(request: Request, ctx: CtxDep) -> Response:
    admin: User = request.state.user
    rows = audit_log.recent(ctx.db, AUDIT_ROWS, site_id=admin.site_id)  # None: the district admin reads every row
    return templates.TemplateResponse(request, "admin_audit.html", {"rows": audit_log.shown(language(request), rows)})
