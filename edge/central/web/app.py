"""create_app(ctx): the FastAPI application, built from one WebContext (no globals; tests build their own).

Every router in ROUTERS gets `current_user` as a dependency: a route needs a logged-in user unless its module
also exports `public` (a router for /login, /health …) — auth is on by default and loosened per route, never
the other way round. Pages answer errors as HTML in the user's language, /api/ as JSON."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from edge.central import catalogs
from edge.central.web import i18n
from edge.central.web.bodylimit import BodyCaps, BodyLimit
from edge.central.web.context import WebContext
from edge.central.web.deps import HERE, LoginRequired, current_user, is_api, language, templates
from edge.central.web.routes import (
    absence_requests,
    admin,
    api,
    auth,
    calendar,
    classes,
    consent,
    enrol,
    excuse_range,
    gates,
    holds,
    live,
    parents,
    parents_api,
    parents_common,
    parents_signin,
    privacy,
    register,
    reports,
    roster,
    students,
    today,
    unknown_cards,
)
from edge.central.web.routes.common import SITE

log = logging.getLogger(__name__)

ROUTERS: tuple[ModuleType, ...] = (
    auth,
    today,
    classes,
    absence_requests,
    register,
    students,
    enrol,
    consent,
    live,
    gates,
    holds,
    api,
    reports,
    roster,
    admin,
    calendar,
    excuse_range,
    unknown_cards,
    privacy,
    parents_signin,
    parents,
    parents_api,
)
"""Every area of the app, one module each (a `router`, and optionally a `public` router without login)."""

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'",
}


def body_caps(ctx: WebContext) -> BodyCaps:
    """The largest body each path may send (bodylimit.py): the roster upload and the face photo routes get their
    own caps, every other path the small form cap."""
    site = SITE.strip("^$")
    photo = ctx.settings.max_upload_bytes + enrol.FORM_OVERHEAD
    return BodyCaps(
        [
            (rf"/s/{site}/roster/preview", roster.REQUEST_MAX),
            (rf"/s/{site}/student/[^/]+/face", photo),
            (rf"/api/v1/schools/{site}/students/[^/]+/face", photo),
        ]
    )


def create_app(ctx: WebContext) -> FastAPI:
    catalogs.check_compiled()  # MissingCatalogs names the command to run; the pages would otherwise show raw keys

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if ctx.live is not None:
            ctx.live.close_clients()

    app = FastAPI(
        title="edge attendance — school web app",
        version="1",
        openapi_url=None,  # served below, behind the login: the API's map is not for anyone
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in ROUTERS:
        app.include_router(module.router, dependencies=[Depends(current_user)])
        public = getattr(module, "public", None)
        if public is not None:
            app.include_router(public)

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=[Depends(current_user)])
    def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for k, v in _SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if is_api(request):
            return JSONResponse({"detail": "not authenticated"}, 401, headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        suffix = "&expired=1" if exc.expired else ""
        return RedirectResponse(f"/login?next={quote(target, safe='')}{suffix}", 303)

    @app.exception_handler(parents_common.ParentLoginRequired)
    async def parent_login_required(request: Request, exc: parents_common.ParentLoginRequired) -> Response:
        if request.url.path.startswith("/p/api/"):
            return JSONResponse({"detail": "not signed in"}, 401)
        return RedirectResponse("/p/login", 303)

    def _page_error(request: Request, status: int, key: str) -> Response:
        return templates.TemplateResponse(request, "error.html", {"status": status, "message_key": key}, status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """A route's refusal. Its detail is a catalog key ("error.future_day") when a person should read why: the
        page says it in the page's language, the API in English words from the same catalog. Any other detail
        ("forbidden", a library's text) stays the API's and the page shows the status's own message."""
        said = i18n.known(exc.detail)
        if is_api(request):
            detail = i18n.translate("en", exc.detail) if said else exc.detail
            return JSONResponse({"detail": detail}, exc.status_code, headers=getattr(exc, "headers", None))
        key = {403: "error.403", 404: "error.404", 422: "error.422"}.get(exc.status_code, "error.title")
        if exc.detail == "csrf":
            key = "error.csrf"
        return _page_error(request, exc.status_code, exc.detail if said else key)

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        if is_api(request):
            errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
            return JSONResponse({"detail": errors}, 422)
        return _page_error(request, 422, "error.422")

    app.add_middleware(BodyLimit, caps=body_caps(ctx))  # added last: outermost, before routing and any parse
    app.state.languages = i18n.LANGUAGES
    app.state.language_of = language
    return app
