"""The review's findings on the web app, each pinned by a test: bodies capped before routing (H1), the API's map
behind the login (L5) — the others live in tests/test_web_auth.py, test_web_admin.py and test_web_live.py."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edge.central.web.bodylimit import FORM_MAX, BodyCaps
from edge.central.web.context import WebContext
from tests.web_support import SITE, live_server, login, make_web

MiB = 1024 * 1024


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[WebContext, FastAPI]]:
    ctx, app = make_web(tmp_path)
    try:
        yield ctx, app
    finally:
        ctx.close()
        ctx.store.close()


def _raw(url: str, head: str, body_parts: Iterator[bytes], timeout: float = 10.0) -> tuple[int, int]:
    """Send `head` then the body parts until the server answers (or the parts run out): (status, body bytes
    sent). A server that reads the whole body first shows as all parts sent."""
    parts = urlsplit(url)
    sent = 0
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=timeout) as s:
        s.sendall(head.encode())
        s.setblocking(False)
        answer = b""
        for chunk in body_parts:
            with contextlib.suppress(BlockingIOError):
                answer += s.recv(65536)
            if answer:
                break
            try:
                s.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        s.settimeout(timeout)
        while b"\r\n" not in answer:
            more = s.recv(65536)
            if not more:
                break
            answer += more
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, sent


def _chunks(total: int, size: int = 64 * 1024, framing: bool = False) -> Iterator[bytes]:
    for _ in range(total // size):
        piece = b"x" * size
        yield (f"{size:x}\r\n".encode() + piece + b"\r\n") if framing else piece


@pytest.mark.parametrize("path", ["/login", f"/s/{SITE}/roster/preview", f"/s/{SITE}/student/an/face"])
def test_a_30_mib_body_without_login_is_refused_by_its_length_before_any_read(
    web: tuple[WebContext, FastAPI], path: str
) -> None:
    _ctx, app = web
    with live_server(app) as srv:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {30 * MiB}\r\n\r\n"
        )
        status, sent = _raw(srv.url, head, _chunks(30 * MiB))
    assert status == 413
    assert sent < 8 * MiB  # answered from the headers, the 30 MiB never needed


def test_a_chunked_body_is_counted_as_it_arrives_and_cut_off_past_the_cap(web: tuple[WebContext, FastAPI]) -> None:
    _ctx, app = web
    with live_server(app) as srv:
        head = (
            "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        status, sent = _raw(srv.url, head, _chunks(30 * MiB, framing=True))
    assert status == 413 and sent < 8 * MiB


def test_caps_per_path_and_small_bodies_still_work(web: tuple[WebContext, FastAPI]) -> None:
    ctx, app = web
    caps = app.user_middleware[0].kwargs["caps"]
    assert isinstance(caps, BodyCaps)
    assert caps.cap_for("/login") == FORM_MAX
    assert caps.cap_for(f"/s/{SITE}/roster/preview") > 4 * MiB
    assert caps.cap_for(f"/s/{SITE}/student/an/face") > ctx.settings.max_upload_bytes
    assert caps.cap_for(f"/api/v1/schools/{SITE}/students/an/face") > ctx.settings.max_upload_bytes
    assert caps.cap_for(f"/s/{SITE}/student/an/face/remove") == FORM_MAX
    with TestClient(app) as c:
        assert login(c, "office").status_code == 303  # a normal form is untouched
        r = c.post("/login", content=b"x" * (FORM_MAX + 1), headers={"content-type": "text/plain"})
        assert r.status_code == 413
        r = c.post("/login", content=b"x", headers={"content-length": "12abc"})
        assert r.status_code == 400


def test_the_api_map_needs_a_login(web: tuple[WebContext, FastAPI]) -> None:
    ctx, app = web
    with TestClient(app) as c:
        assert c.get("/api/openapi.json").status_code == 401
        assert c.get("/api/docs").status_code == 401
        token = ctx.tokens.create("office")
        doc: dict[str, Any] = c.get("/api/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
        assert "/api/v1/schools" in doc["paths"]
        login(c, "teacher6a")
        assert c.get("/api/docs").status_code == 200
