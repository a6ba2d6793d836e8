"""The parents' app's JSON and installable-app routes:

GET  /p/api/children, /p/api/child/ID   today's status as JSON (what the offline view keeps)
GET  /p/api/push-key; POST|DELETE /p/api/push-subscription   Web Push for this device
GET  /p/manifest.webmanifest, /p/sw.js   the installable app (PWA) and its service worker
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from edge.central.notify import push_subscriptions
from edge.central.web import csrf, i18n
from edge.central.web.deps import HERE, get_ctx
from edge.central.web.routes.parents_common import (
    PersonPath,
    check_csrf,
    directory_of,
    language_of,
    own_child,
    parent_of,
    push_key_of,
    signed_in_router,
    today_of,
)

public = APIRouter()
router = APIRouter()  # nothing behind the staff login
signed_in = signed_in_router()


@signed_in.get("/p/api/children", include_in_schema=False)
def api_children(request: Request) -> JSONResponse:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = directory_of(ctx, s)
    lang = request.state.parent_lang
    return JSONResponse({"children": [today_of(ctx, d, pid, lang) for pid in s.children if pid in d.students]})


@signed_in.get("/p/api/child/{person_id}", include_in_schema=False)
def api_child(request: Request, person_id: PersonPath) -> JSONResponse:
    s = parent_of(request)
    ctx = get_ctx(request)
    d = own_child(ctx, s, person_id)
    return JSONResponse(today_of(ctx, d, person_id, request.state.parent_lang))


@signed_in.get("/p/api/push-key", include_in_schema=False)
def push_key(request: Request) -> JSONResponse:
    s = parent_of(request)
    key = push_key_of(directory_of(get_ctx(request), s).school)
    if key is None:
        raise HTTPException(404, "this school sends no Web Push")
    return JSONResponse({"publicKey": key})


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)


class PushSubscriptionIn(BaseModel):
    """What the browser's PushSubscription.toJSON() gives (expirationTime ignored), and a label for the device."""

    model_config = ConfigDict(extra="ignore")
    endpoint: str = Field(max_length=push_subscriptions.MAX_ENDPOINT)
    keys: PushKeys
    label: str | None = Field(None, max_length=push_subscriptions.MAX_LABEL)


@signed_in.post("/p/api/push-subscription", include_in_schema=False)
def push_subscribe(request: Request, body: PushSubscriptionIn) -> JSONResponse:
    """The service worker's subscription, stored for the signed-in guardian through the Web Push channel's own
    functions (edge/central/notify/push_subscriptions.py); the header X-CSRF-Token carries the session's token."""
    s = parent_of(request)
    check_csrf(s, request.headers.get(csrf.HEADER))
    ctx = get_ctx(request)
    try:
        with ctx.db.connection() as conn:
            push_subscriptions.add(
                conn, ctx.db.engine, site=s.site_id, guardian_id=s.guardian_id, endpoint=body.endpoint,
                p256dh=body.keys.p256dh, auth=body.keys.auth, label=body.label,
                user_agent=request.headers.get("user-agent"),
            )  # fmt: skip
    except push_subscriptions.SubscriptionError as exc:
        return JSONResponse({"detail": str(exc)}, 422)
    return JSONResponse({"subscribed": True}, 201)


@signed_in.delete("/p/api/push-subscription", include_in_schema=False)
def push_unsubscribe(request: Request, body: PushSubscriptionIn) -> JSONResponse:
    s = parent_of(request)
    check_csrf(s, request.headers.get(csrf.HEADER))
    ctx = get_ctx(request)
    with ctx.db.connection() as conn:
        gone = push_subscriptions.remove(
            conn, ctx.db.engine, site=s.site_id, guardian_id=s.guardian_id, endpoint=body.endpoint
        )
    return JSONResponse({"removed": gone})


@public.get("/p/manifest.webmanifest", include_in_schema=False)
def manifest(request: Request) -> JSONResponse:
    lang = language_of(request, None)
    body = {
        "name": i18n.translate(lang, "parents.app_name"),
        "short_name": i18n.translate(lang, "parents.short_name"),
        "start_url": "/p/",
        "scope": "/p/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f5f8b",
        "lang": lang,
        "icons": [{"src": "/static/parents-icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return JSONResponse(body, media_type="application/manifest+json")


@public.get("/p/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """At /p/ so its scope is the parents' app and nothing of the staff app."""
    body = (HERE / "static" / "parents-sw.js").read_bytes()
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


public.include_router(signed_in)
