"""GET /s/{site}/live: the Today page's Server-Sent Events stream.

Keep-alive comments every settings.live_ping_s; headers that stop caches and proxies from buffering
(Cache-Control: no-cache, X-Accel-Buffering: no); `retry: 1000` so a browser reconnects within a second; on
reconnect the browser sends Last-Event-ID and the stream first replays what was stored after it (from the store,
not from memory); a viewer that stops reading is dropped when its queue is full (edge/central/web/live.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from fastapi.responses import StreamingResponse

from edge.central.web.accounts import User
from edge.central.web.context import WebContext
from edge.central.web.deps import CtxDep, UserDep, can_see_school, language, recheck_user, school_for
from edge.central.web.live import DROP
from edge.central.web.routes.common import SITE
from edge.central.web.tap_words import tap_meta
from edge.central.web.visibility import checkin_view

router = APIRouter()
RESUME_MAX = 1000
DISCONNECT_CHECK_S = 1.0
RECHECK_S = 15.0
"""How often an open stream checks its login again: a stream outlives its request, so logout, a disabled
account, a new password, an expired session or a teacher's changed classes end it within this long."""


async def still_allowed(ctx: WebContext, request: Request, user: User, site_id: str) -> float | None:
    """The session's end (wall clock, None for an API token) if the credential still gives the same rights on
    this school as when the stream began; -1.0 (an end long past) when it does not, so the stream ends."""
    now = await asyncio.to_thread(recheck_user, ctx, request)
    if now is None:
        return -1.0
    current, expires_at = now
    same = (current.role, current.site_id, current.classes) == (user.role, user.site_id, user.classes)
    if not same or not can_see_school(current, site_id):
        return -1.0
    return expires_at


def sse(event: dict[str, Any]) -> str:
    """One SSE message; JSON has no raw newline, so `data:` is one line and nothing can inject a field."""
    return f"id: {event['id']}\nevent: checkin\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


@router.get("/s/{site_id}/live", include_in_schema=False)
async def live(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    after_id: Annotated[int | None, Query(alias="after", ge=0)] = None,
) -> StreamingResponse:
    school = school_for(ctx, user, site_id)
    hub = ctx.live
    if hub is None:
        raise HTTPException(503, "live feed not running")
    after: int | None = after_id
    if last_event_id:
        try:
            after = int(last_event_id)
        except ValueError:
            raise HTTPException(422, "Last-Event-ID is not a number") from None

    lang = language(request)
    gates = school.gates

    def view(e: dict[str, Any]) -> dict[str, Any] | None:
        shown = checkin_view(user, site_id, e)  # the same rule for new and replayed events (visibility.py)
        if shown is None or "direction" not in shown:  # a counts-only view (a guard) gets no words about the tap
            return shown
        return {**shown, "meta": tap_meta(lang, e.get("direction"), e.get("method"), e.get("gate"), gates)}

    async def stream() -> AsyncIterator[str]:
        viewer = hub.subscribe(site_id, view, user.username)  # subscribe, then replay: nothing falls between
        try:
            session = getattr(request.state, "session", None)
            expires_at: float | None = session.expires_at if session is not None else None
            next_check = time.monotonic() + RECHECK_S
            yield "retry: 1000\n\n"
            replayed: set[str] = set()
            if after is not None:
                rows = await asyncio.to_thread(hub.rows_after, after, site_id, RESUME_MAX)
                events = await asyncio.to_thread(hub.events_for, rows)
                for e in events:
                    shown = view(e)
                    if shown is not None:
                        replayed.add(e["event_id"])
                        yield sse(shown)
            quiet_since = time.monotonic()
            while True:
                if time.monotonic() >= next_check or (expires_at is not None and time.time() >= expires_at):
                    expires_at = await still_allowed(ctx, request, user, site_id)
                    next_check = time.monotonic() + RECHECK_S
                    if expires_at is not None and expires_at <= time.time():
                        yield "event: bye\ndata: {}\n\n"
                        return
                try:
                    item = await asyncio.wait_for(viewer.queue.get(), DISCONNECT_CHECK_S)
                except TimeoutError:
                    # uvicorn tells a closed connection only to whoever asks (or writes): ask every second, so a
                    # closed tab leaves the hub within a second, not at the next ping
                    if await request.is_disconnected():
                        return
                    if time.monotonic() - quiet_since >= ctx.settings.live_ping_s:
                        quiet_since = time.monotonic()
                        yield ": ping\n\n"
                    continue
                quiet_since = time.monotonic()
                if item is DROP:
                    yield "event: bye\ndata: {}\n\n"
                    return
                if item["event_id"] in replayed:
                    continue
                viewer.sent += 1
                yield sse(item)
        finally:
            hub.unsubscribe(viewer)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )
