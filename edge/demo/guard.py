"""The demo's people at the web app: their accounts, and the guard opening the main gate from the Gates page.

The guard does what a person does in the browser — open the login page, log in, open the Gates page, press
"open gate" — over HTTP with the session cookie and each form's CSRF token, so the demo goes through the same
path as a click: session, CSRF, role check, audit log, a command signed with the server's key, the gateway's
result shown on the page.
"""

from __future__ import annotations

import html
import http.cookiejar
import re
import secrets
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from edge.demo.processes import run_edge
from edge.demo.school import SITE
from edge.devtools.mosquitto import MosquittoBroker

USERS = (("admin", "admin", ()), ("office", "office", ()), ("teacher", "teacher", ("6A",)), ("guard", "guard", ()))
"""(username, role, classes); every demo account gets the run's password (new_password)."""
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_RESULT = re.compile(r'<p class="result (ok|fail)" id="command-result">(.*?)</p>', re.S)


def new_password() -> str:
    """A fresh password for each run: `--serve` keeps an admin account open on this machine for as long as the
    person looks, so it must not be a password printed in a README."""
    return secrets.token_urlsafe(12)


def login_hint(password: str) -> str:
    return f"users admin, office, teacher (6A), guard; password {password}"


def add_users(store_url: str, password: str) -> None:
    """The school's staff, made with the documented command (`edge server user add`). Idempotent: the demo's
    data folder is fresh, and an existing account is left as it is."""
    existing = run_edge(["server", "user", "list", "--store", store_url]).stdout.split()
    for name, role, classes in USERS:
        if name in existing:
            continue
        args = ["server", "user", "add", name, "--role", role, "--site", SITE, "--store", store_url, "--password-stdin"]
        for c in classes:
            args += ["--class", c]
        run_edge(args, stdin=password + "\n")


def server_args(central: Path, store_url: str, port: int, broker: MosquittoBroker, identity: str) -> list[str]:
    """`edge server run` on localhost: the broker link (gates, signed commands) with the server's identity;
    plain-HTTP cookies because the demo serves http://127.0.0.1 (production puts HTTPS in front)."""
    if broker.pki is None:
        raise RuntimeError("the demo's broker runs closed, with a PKI")
    return [
        "server", "run", "-c", str(central), "--store", store_url, "--host", "127.0.0.1", "--port", str(port),
        "--pki", str(broker.pki.dir), "--identity", identity, "--mqtt-port", str(broker.port), "--insecure-cookies",
        "--metrics", "off",
    ]  # fmt: skip


class Browser:
    """Just enough of a browser: a cookie jar, GET, and POST of a form."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as r:
            return str(r.read().decode("utf-8"))

    def post(self, path: str, form: dict[str, str]) -> str:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base + path, data=data, timeout=30) as r:
            return str(r.read().decode("utf-8"))

    @staticmethod
    def csrf(page: str) -> str:
        m = _CSRF.search(page)
        if m is None:
            raise RuntimeError("no CSRF token on the page")
        return html.unescape(m.group(1))


def open_gate(web_url: str, gateway: str, gate: str, password: str, user: str = "guard") -> dict[str, Any]:
    """Log in as `user`, press "open gate" for `gateway`/`gate` on the Gates page; the result the page shows."""
    b = Browser(web_url)
    login = b.get("/login")
    b.post("/login", {"username": user, "password": password, "csrf_token": b.csrf(login), "next": "/"})
    gates = b.get(f"/s/{SITE}/gates")
    page = b.post(f"/s/{SITE}/gates/{gateway}/open", {"csrf_token": b.csrf(gates), "gate": gate})
    m = _RESULT.search(page)
    if m is None:
        raise RuntimeError("the Gates page shows no command result")
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split())
    return {"ok": m.group(1) == "ok", "shown": text}
