"""What every route uses. Names are a contract with the routes' authors (routes/*.py):

get_ctx(request) -> WebContext
current_user            the logged-in user (session cookie or `Authorization: Bearer edge_…`); a page without
                        one redirects to /login, an API call gets 401. The app adds it to EVERY router (app.py):
                        a route is public only if it lives in a router the app lists as public.
require_roles(*roles)   403 unless the user has one of the roles
csrf_protect            POST forms: 403 without the session's token (field csrf_token / header X-CSRF-Token);
                        API-token calls (no cookie, so no CSRF risk) pass
can_see_class(user, school_id, class_name) -> bool      (these three from visibility.py, the one role policy)
can_see_school(user, school_id) -> bool
may_see_card_uid(user) -> bool
school_for(ctx, user, site_id) -> SchoolConfig (404 unknown, 403 another school's account)
templates               Jinja2Templates, autoescaped; every template gets t(key, **fields), lang, user,
                        csrf_token, tz, and the filters local_time / local_date / local_datetime
audit(ctx, user, action, detail, request, site_id=None, tx=None)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from edge.central.web import audit as audit_log
from edge.central.web import csrf, i18n, navigation
from edge.central.web.accounts import Role, User
from edge.central.web.context import WebContext
from edge.central.web.db import WebTx
from edge.central.web.visibility import can_see_class, can_see_school, may_see_card_uid, rights, roles_with
from edge.config.central import SchoolConfig

SESSION_COOKIE = "edge_session"
HERE = Path(__file__).parent


class LoginRequired(Exception):
    """No valid session: pages redirect to /login, the API answers 401 (handled in app.py)."""

    def __init__(self, expired: bool = False) -> None:
        self.expired = expired


def get_ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def current_user(request: Request, ctx: Annotated[WebContext, Depends(get_ctx)]) -> User:
    cached: User | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = ctx.tokens.user_for(auth[7:].strip())
        if user is None:
            raise LoginRequired()
        request.state.user, request.state.session = user, None
        return user
    token = request.cookies.get(SESSION_COOKIE)
    session = ctx.sessions.get(token)
    if session is None:
        raise LoginRequired(expired=bool(token))
    request.state.user, request.state.session = session.user, session
    return session.user


def recheck_user(ctx: WebContext, request: Request) -> tuple[User, float | None] | None:
    """The request's credential checked again, now (not the per-request cache): the user as stored today and the
    session's end (None for an API token), or None when the session ended, the token was revoked or the account
    disabled. For responses that outlive their request (the live stream)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = ctx.tokens.user_for(auth[7:].strip())
        return None if user is None else (user, None)
    session = ctx.sessions.get(request.cookies.get(SESSION_COOKIE))
    return None if session is None else (session.user, session.expires_at)


def optional_user(request: Request, ctx: Annotated[WebContext, Depends(get_ctx)]) -> User | None:
    try:
        return current_user(request, ctx)
    except LoginRequired:
        return None


def require_roles(*roles: Role) -> Callable[..., User]:
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(403, "forbidden")
        return user

    return check


async def csrf_protect(request: Request, user: Annotated[User, Depends(current_user)]) -> None:
    session = getattr(request.state, "session", None)
    if session is None:  # an API token: no cookie rides along, so there is nothing to forge
        return
    given = request.headers.get(csrf.HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(csrf.FIELD)
        given = value if isinstance(value, str) else None
    if not csrf.matches(session.csrf, given):
        raise HTTPException(403, "csrf")


CARD_READERS: tuple[Role, ...] = roles_with("card_uid")


def school_for(ctx: WebContext, user: User, site_id: str) -> SchoolConfig:
    school = ctx.school(site_id)
    if school is None:
        raise HTTPException(404, "unknown school")
    if not can_see_school(user, site_id):
        raise HTTPException(403, "forbidden")
    return school


def audit(
    ctx: WebContext,
    user: User | None,
    action: str,
    detail: dict[str, Any],
    request: Request | None,
    site_id: str | None = None,
    tx: WebTx | None = None,
) -> None:
    """One audit row: who (user), what (action + detail), when (now), from where (client address)."""
    audit_log.record(
        tx if tx is not None else ctx.db,
        user.username if user else None,
        action,
        detail,
        client_ip(request) if request is not None else None,
        site_id,
    )


# templates ---------------------------------------------------------------------------------------------------
def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _tz(context: Any) -> ZoneInfo:
    name = context.get("tz") or "UTC"
    return ZoneInfo(str(name))


@jinja2.pass_context
def local_time(context: Any, value: Any, fmt: str = "%H:%M") -> str:
    when = _as_datetime(value)
    return "" if when is None else when.astimezone(_tz(context)).strftime(fmt)


@jinja2.pass_context
def local_date(context: Any, value: Any, fmt: str = "%d/%m/%Y") -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime(fmt)
    when = _as_datetime(value)
    return "" if when is None else when.astimezone(_tz(context)).strftime(fmt)


@jinja2.pass_context
def local_datetime(context: Any, value: Any) -> str:
    when = _as_datetime(value)
    return "" if when is None else when.astimezone(_tz(context)).strftime("%d/%m/%Y %H:%M:%S")


def language(request: Request) -> str:
    return i18n.pick(request.cookies.get(i18n.COOKIE))


def _context(request: Request) -> dict[str, Any]:
    lang = language(request)
    session = getattr(request.state, "session", None)
    ctx: WebContext | None = getattr(request.app.state, "ctx", None)
    tz = getattr(request.state, "tz", None)
    if tz is None and ctx is not None and ctx.schools:
        tz = ctx.schools[0].timezone
    return {
        "t": i18n.translator(lang),
        "lang": lang,
        "user": getattr(request.state, "user", None),
        "csrf_token": session.csrf if session is not None else "",
        "tz": tz or "UTC",
        "schools": ctx.schools if ctx is not None else [],
        "gate_alarms": _gate_alarms(request, ctx, lang),
    }


def _gate_alarms(request: Request, ctx: WebContext | None, lang: str) -> list[dict[str, Any]]:
    """The "gates down" / held-notices banner of every page, for the accounts that act on it (admin, office)."""
    user: User | None = getattr(request.state, "user", None)
    if ctx is None or user is None or not rights(user).holds:
        return []
    from edge.central.web.gate_alarm import alarm, reason_text, rules_of

    t, now, out = i18n.translator(lang), ctx.clock().timestamp(), []
    for school in ctx.schools:
        if not can_see_school(user, school.id):
            continue
        tz = ZoneInfo(school.timezone)
        a = alarm(ctx.db, school.id, school.name, tz, rules_of(ctx.cfg), now)
        if a.raised:
            texts = [reason_text(t, r, tz) for r in a.reasons]
            out.append({"site_id": a.site_id, "school_name": a.school_name, "reasons": a.reasons, "texts": texts,
                        "held": a.held})  # fmt: skip
    return out


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    env.filters["local_date"] = local_date
    env.filters["local_datetime"] = local_datetime
    env.globals["nav_links"] = navigation.links
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=False)  # type: ignore[attr-defined]
    return env


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, key: str, **fields: object) -> str:
    """`_("nav.today")` / `gettext(...)` in a template (Jinja2's i18n extension; `pybabel extract` reads them): the
    same catalog look-up as `t(...)`, in the language of the page being rendered."""
    return i18n.translate(str(context.get("lang", i18n.DEFAULT)), key, **fields)


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, key: str, plural: str, n: int, **fields: object) -> str:
    """`ngettext("key", "key", n)`: the catalog's plural form for the count `n`."""
    return i18n.translate(str(context.get("lang", i18n.DEFAULT)), key, n=n, **fields)


templates = Jinja2Templates(env=_environment(), context_processors=[_context])

Dependency = Callable[..., Awaitable[Any] | Any]

CtxDep = Annotated[WebContext, Depends(get_ctx)]
"""`ctx: CtxDep` in a route's parameters (Annotated, so no call in a default: ruff B008)."""
UserDep = Annotated[User, Depends(current_user)]
"""`user: UserDep`: the logged-in user."""

__all__ = ["CARD_READERS", "can_see_class", "can_see_school", "may_see_card_uid"]
"""Re-exported from visibility.py (routes import them from here)."""
