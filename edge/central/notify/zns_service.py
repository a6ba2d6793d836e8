"""A local Zalo ZNS endpoint for the tests: it speaks the documented "send by phone number" request and answer
(see edge/central/notify/channels/zalo_zns.py) and checks what Zalo checks — the OA's access token, an approved
template with exactly its parameters, each value within its registered length, the phone in 84… form, the daily
quota — answering with ZNS's error codes. Each accepted message is kept with the tracking_id it came with.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from edge.central.notify.receivers import _Tally, free_port


@dataclass
class RegisteredTemplate:
    """A template as the OA registered it: its parameters and their length limits; approved or not."""

    params: dict[str, int]
    approved: bool = True


@dataclass
class Request:
    headers: dict[str, str]
    body: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)


Override = Callable[[dict[str, Any]], tuple[int, dict[str, str], dict[str, Any] | bytes] | None]
"""(request body) -> (HTTP status, headers, JSON answer or raw bytes) to answer instead, or None."""


class LocalZnsService(_Tally):
    PHONE = re.compile(r"^84[1-9][0-9]{8,9}$")

    def __init__(self, token: str, templates: dict[str, RegisteredTemplate], *, daily_quota: int = 500) -> None:
        super().__init__()
        self.token = token
        self.templates = templates
        self.daily_quota = daily_quota
        self.sent_today = 0
        self.requests: list[Request] = []
        self.override: Override | None = None
        self.port = free_port()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, answer = service._handle(raw, headers)
                out = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"zns-{self.port}")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/message/template"

    @staticmethod
    def error(code: int, message: str) -> dict[str, Any]:
        return {"error": code, "message": message}

    def _handle(self, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], dict[str, Any] | bytes]:
        try:
            body = json.loads(raw)
        except ValueError:
            return 200, {}, self.error(-122, "Body format invalid")
        if not isinstance(body, dict) or not body:
            return 200, {}, self.error(-121, "Body data empty")
        req = Request(headers, body)
        with self.lock:
            self.requests.append(req)
        if self.override is not None:
            forced = self.override(body)
            if forced is not None:
                if isinstance(forced[2], dict):
                    req.answer = forced[2]
                return forced
        req.answer = self._answer(body, headers)
        return 200, {}, req.answer

    def _answer(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        if headers.get("access_token") != self.token:
            return self.error(-124, "Access token invalid")
        phone = str(body.get("phone", ""))
        if not self.PHONE.match(phone):
            return self.error(-108, "Phone number invalid")
        tpl = self.templates.get(str(body.get("template_id")))
        if tpl is None:
            return self.error(-109, "Template ID invalid")
        if not tpl.approved:
            return self.error(-131, "Template not approved")
        data = body.get("template_data")
        if not isinstance(data, dict) or not data:
            return self.error(-111, "Template data empty")
        if set(data) != set(tpl.params) or any(len(str(data[k])) > n for k, n in tpl.params.items()):
            return self.error(-112, "Template data invalid")
        tracking = body.get("tracking_id")
        if tracking is not None and (not isinstance(tracking, str) or len(tracking) > 48):
            return self.error(-112, "tracking_id longer than 48 characters")
        development = body.get("mode") == "development"
        with self.lock:
            if not development and self.sent_today >= self.daily_quota:
                return self.error(-144, "OA has exceeded the daily quota")
            if not development:
                self.sent_today += 1
            remaining = self.daily_quota - self.sent_today
        self.add(str(tracking), body, headers)
        return {
            "error": 0,
            "message": "Success",
            "data": {
                "msg_id": secrets.token_hex(16),
                "sent_time": str(int(time.time() * 1000)),
                "quota": {"dailyQuota": str(self.daily_quota), "remainingQuota": str(remaining)},
            },
        }

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
