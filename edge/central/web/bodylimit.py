"""A request body cap in front of every route, before routing, login or any form parsing.

WHY: FastAPI parses a Form()/File() body before it runs any dependency (the login check, csrf_protect, a route's
own cap), and Starlette spools file parts over 1 MiB to temporary files with no total limit; uvicorn has no body
limit either. Without this, an anonymous POST of gigabytes to /login or /s/…/roster/preview is read and spooled
in full before the answer "please log in". Here the body is refused by its Content-Length (413, nothing read),
and a body sent without a length (chunked) is counted as it arrives and cut off past the cap (413).

Caps are per path: small for forms and JSON, the roster's cap for the roster upload, the photo cap for face
enrolment. A reverse proxy in front should have the same largest cap (nginx: client_max_body_size)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
App = Callable[[Scope, Receive, Send], Any]

FORM_MAX = 64 * 1024
"""Every body not named in the caps: login, excuse and admin forms, JSON API calls (a few KiB at most)."""


class BodyCaps:
    """(path pattern, cap) pairs, first match wins; any other path gets `default`."""

    def __init__(self, caps: Sequence[tuple[str, int]], default: int = FORM_MAX) -> None:
        self.caps = [(re.compile(p), n) for p, n in caps]
        self.default = default

    def cap_for(self, path: str) -> int:
        for pattern, cap in self.caps:
            if pattern.fullmatch(path):
                return cap
        return self.default


def _refusal(status: int, text: str) -> tuple[Message, Message]:
    body = text.encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body, "more_body": False}


class BodyLimit:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it must not buffer the body it guards)."""

    def __init__(self, app: App, caps: BodyCaps) -> None:
        self.app = app
        self.caps = caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.caps.cap_for(scope["path"])
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(send, 400, "bad Content-Length")
                return
            if int(declared) > cap:
                await self._refuse(send, 413, f"the request body is larger than {cap:,} bytes")
                return
        seen = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    # answer now and tell the app the client left: whatever it answers next is dropped
                    refused = True
                    if not started:
                        await self._refuse(send, 413, f"the request body is larger than {cap:,} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:  # the app's own error; after a refusal, its complaint about the cut body is moot
                raise

    @staticmethod
    async def _refuse(send: Send, status: int, text: str) -> None:
        start, body = _refusal(status, text)
        await send(start)
        await send(body)
