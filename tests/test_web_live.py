"""The live feed behind Today (#10): a stored check-in reaches an SSE viewer (how fast: `edge bench web`),
Last-Event-ID resumes from the store, a viewer that stops reading is dropped instead of buffered, a stream ends
when its login or rights end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.central.web.live import DROP, LiveHub
from tests.helpers import wait_until
from tests.live_support import Stream
from tests.web_support import SCHOOL_MORNING, SITE, checkin, csrf_from, live_server, login, make_web


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    url = request.getfixturevalue("postgres").fresh_database() if request.param == "postgresql" else None
    ctx, app = make_web(tmp_path, url, live=True)
    yield ctx, app
    ctx.close()
    ctx.store.close()


def test_a_stored_checkin_reaches_the_viewer(web: tuple[Any, Any]) -> None:
    ctx, app = web
    with live_server(app, ctx) as server, httpx.Client(base_url=server.url) as client:
        assert login(client, "teacher6a").status_code == 303
        stream = Stream(client, f"/s/{SITE}/live")
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["cache-control"] == "no-cache"
        wait_until(lambda: ctx.live.viewers == 1, 5, "the viewer to subscribe")
        other = checkin("dung", SCHOOL_MORNING)  # 6B: not this teacher's class
        ctx.store.insert(other)
        ev = checkin("an", SCHOOL_MORNING + timedelta(minutes=1))
        ctx.store.insert(ev)
        got = stream.next_checkin(timeout=10)
        assert got["event_id"] == ev["event_id"], "the other class's check-in must not reach a 6A teacher"
        assert got["name"] == "Nguyễn Văn An" and got["class_name"] == "6A" and got["time"] == "07:31:00"
        assert got["counts"]["present"] == 1 and got["counts"]["pending"] == 2
        # the line under the name in the viewer's language (Vietnamese by default); a gate without a configured
        # name by its id
        assert got["meta"] == "Vào · Thẻ · main-in", got
        stream.close()


def test_last_event_id_resumes_from_the_store(web: tuple[Any, Any]) -> None:
    ctx, app = web
    first = checkin("an", SCHOOL_MORNING)
    ctx.store.insert(first)
    with live_server(app, ctx) as server, httpx.Client(base_url=server.url) as client:
        login(client, "office")
        missed = [checkin(p, SCHOOL_MORNING + timedelta(minutes=2)) for p in ("binh", "dung")]
        for e in missed:
            ctx.store.insert(e)
        last_id = ctx.live.rows_after(0)[0]["ingest_id"]  # the id of `first`, as the browser saw it
        stream = Stream(client, f"/s/{SITE}/live", {"Last-Event-ID": str(last_id)})
        got = [stream.next_checkin(timeout=10) for _ in missed]
        assert [g["event_id"] for g in got] == [e["event_id"] for e in missed]
        assert all(int(g["id"]) > last_id for g in got)
        stream.close()
        bad = client.get(f"/s/{SITE}/live", headers={"Last-Event-ID": "1; DROP TABLE checkins"})
        assert bad.status_code == 422


def test_a_slow_viewer_is_dropped_not_buffered(tmp_path: Path) -> None:
    from edge.central.web.context import WebSettings

    ctx, _app = make_web(tmp_path, settings=WebSettings(cookie_secure=False, live_queue=5))
    hub = LiveHub(ctx)

    async def scenario() -> tuple[bool, list[Any]]:
        viewer = hub.subscribe(SITE, lambda e: e)
        events = [{"site_id": SITE, "event_id": str(i), "id": i} for i in range(20)]
        hub.publish(events)  # from this thread, as the poller does; the viewer never reads
        await asyncio.sleep(0.1)
        items = []
        while not viewer.queue.empty():
            items.append(viewer.queue.get_nowait())
        hub.unsubscribe(viewer)
        return viewer.dropped, items

    dropped, items = asyncio.run(scenario())
    assert dropped
    assert items == [DROP], "a dropped viewer's backlog is freed; its stream ends"
    assert hub.viewers == 0 and hub.dropped == 1
    ctx.close()


def test_the_live_stream_needs_a_login(web: tuple[Any, Any]) -> None:
    _ctx, app = web
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        assert c.get(f"/s/{SITE}/live", follow_redirects=False).status_code == 303


def test_a_checkin_stored_while_the_page_loads_is_not_lost(web: tuple[Any, Any]) -> None:
    """Today names the newest ingest number it shows (data-after); the stream starts from there, so a check-in
    stored between the page and its EventSource still arrives."""
    import re

    ctx, app = web
    with live_server(app, ctx) as server, httpx.Client(base_url=server.url) as client:
        login(client, "office")
        page = client.get(f"/s/{SITE}/today").text
        after = re.search(r'data-after="(\d*)"', page)
        assert after is not None
        ev = checkin("em", SCHOOL_MORNING)
        ctx.store.insert(ev)  # after the page, before the stream
        wait_until(lambda: ctx.live.high > int(after.group(1) or 0), 5, "the hub to pass it")
        stream = Stream(client, f"/s/{SITE}/live?after={after.group(1)}")
        assert stream.next_checkin(timeout=2)["event_id"] == ev["event_id"]
        stream.close()


def test_a_late_committed_lower_number_is_still_delivered(web: tuple[Any, Any]) -> None:
    """PostgreSQL hands out ingest numbers before commit: 7 can become visible after 9. The hub remembers the
    missing numbers and asks for them again, so the late row is still published (once)."""
    ctx, _app = web
    hub: LiveHub = ctx.live
    hub.stop()  # poll by hand
    hub.poll_once()
    base = hub.high
    col = "rowid" if ctx.db.engine == "sqlite" else "ingest_id"

    def put(person: str, number: int) -> str:
        e = checkin(person, SCHOOL_MORNING)
        ctx.db.execute(
            f"INSERT INTO checkins (event_id, site_id, gateway_id, occurred_at, person_id, direction, decision, {col}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (e["event_id"], SITE, "gw-1", e["occurred_at"], person, "in", "granted", number),
        )
        return str(e["event_id"])

    later = put("an", base + 3)
    first = hub.poll_once()
    assert [r["event_id"] for r in first] == [later] and hub.high == base + 3
    earlier = put("binh", base + 1)
    second = hub.poll_once()
    assert [r["event_id"] for r in second] == [earlier]
    assert hub.poll_once() == [], "each row once"


def _ends(stream: Stream, timeout: float = 10.0) -> None:
    """Wait for the stream to say bye (or close); fails (queue.Empty) if it is still open after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        msg = stream.messages.get(timeout=max(0.01, deadline - time.monotonic()))
        if msg is None or msg.get("event") == "bye":
            return


@pytest.fixture
def sqlite_web(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    ctx, app = make_web(tmp_path, live=True)
    yield ctx, app
    ctx.close()
    ctx.store.close()


@pytest.mark.parametrize("change", ["disable", "password", "classes", "expiry"])
def test_the_stream_ends_when_the_login_or_the_rights_end(
    sqlite_web: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Review M1: a change made elsewhere (the CLI, another server process) ends the stream at its re-check."""
    from edge.central.web.routes import live as live_route

    ctx, app = sqlite_web
    monkeypatch.setattr(live_route, "RECHECK_S", 0.5)
    if change == "expiry":
        ctx.sessions.ttl_s = 2.0
    with live_server(app, ctx) as server, httpx.Client(base_url=server.url) as client:
        assert login(client, "teacher6a").status_code == 303
        stream = Stream(client, f"/s/{SITE}/live")
        wait_until(lambda: ctx.live.viewers == 1, 5, "the viewer")
        ctx.store.insert(checkin("an", SCHOOL_MORNING))
        assert stream.next_checkin(5)["person_id"] == "an"  # the stream works until the change
        if change == "disable":
            ctx.accounts.set_disabled("teacher6a")
        elif change == "password":
            ctx.accounts.set_password("teacher6a", "a-brand-new-password")
        elif change == "classes":
            ctx.db.execute("UPDATE web_users SET classes = ? WHERE username = ?", ('["6B"]', "teacher6a"))
        _ends(stream)  # at the next re-check (every 0.5 s here)
        wait_until(lambda: ctx.live.viewers == 0, 5, "the viewer gone")
        stream.close()


def test_logout_and_an_admin_disabling_end_the_stream_at_once(
    sqlite_web: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge.central.web.routes import live as live_route

    ctx, app = sqlite_web
    monkeypatch.setattr(live_route, "RECHECK_S", 3600.0)  # no re-check during the test: only the action ends it
    with live_server(app, ctx) as server, httpx.Client(base_url=server.url) as teacher:
        assert login(teacher, "teacher6a").status_code == 303
        stream = Stream(teacher, f"/s/{SITE}/live")
        wait_until(lambda: ctx.live.viewers == 1, 5, "the viewer")
        with httpx.Client(base_url=server.url) as admin:
            login(admin, "admin")
            token = csrf_from(admin.get("/admin/users").text)
            r = admin.post("/admin/users/teacher6a/disable", data={"csrf_token": token}, follow_redirects=False)
            assert r.status_code == 303
        _ends(stream)  # at once: the re-check is an hour away
        stream.close()
        ctx.accounts.set_disabled("teacher6a", False)
        login(teacher, "teacher6a")
        stream = Stream(teacher, f"/s/{SITE}/live")
        wait_until(lambda: ctx.live.viewers == 1, 5, "the viewer")
        token = csrf_from(teacher.get(f"/s/{SITE}/today").text)
        assert teacher.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        _ends(stream)
        stream.close()
