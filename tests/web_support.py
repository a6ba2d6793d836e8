"""Shared helpers for the web app's tests (tests/test_web_*.py): a school with a small roster, staff of every role
with known passwords, logging a test client in, storing check-ins, a live uvicorn server and a headless browser.

    ctx, app = make_web(tmp_path)                      # SQLite; make_web(tmp_path, postgres.fresh_database())
    with TestClient(app) as c:
        login(c, "teacher6a")
        c.get("/s/test-school/class/6A")
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from edge.central.school.files import import_central
from edge.central.store import open_store
from edge.central.web.app import create_app
from edge.central.web.context import WebContext, WebSettings
from edge.central.web.db import WebDb
from edge.config.central import parse_central_text
from edge.contract.checkin import rfc3339_ms
from tests.system_tools import CHROMEDRIVER, CHROMIUM, problem, require

SITE = "test-school"
TZ = "Asia/Ho_Chi_Minh"
IMPORTED_ON = date(2026, 9, 1)
"""The day the test school was imported into the store: its students are enrolled from then (before the term)."""
SCHOOL_MORNING = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
"""Tuesday 24 Nov 2026, 07:30 in Hà Nội: before the 07:45 cut-off of a school day."""

ROSTER = """person_id,name,class,card_uid,photos
an,Nguyễn Văn An,6A,0F00A1B2C3,an.jpg
binh,Trần Thị Bình,6A,0F00A1B2C4,
chi,Lê Minh Chi,6A,,
dung,Phạm Dũng,6B,0F00A1B2C5,
em,Hoàng Em,6B,,
"""
GUARDIANS = """person_id,name,phone,email,channel,language,kinds
an,Nguyễn Văn Ba,0912 345 678,,hook,vi,arrived;absent
dung,Phạm Mẹ,,me@example.org,hook,en,arrived
"""
CENTRAL = f"""
schools:
  - id: {SITE}
    name: Trường THCS Thử
    timezone: {TZ}
    roster: roster.csv
    guardians: guardians.csv
    edfi_school_id: 255901001
    calendar:
      terms: [{{name: "Học kỳ I", start: 2026-09-05, end: 2027-01-15}}]
      holidays: [{{name: "Nghỉ thử", start: 2026-11-20}}]
      cutoff: "07:45"
      dismissal: "16:30"
    channels:
      - {{name: hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: "0123456789abcdef0123"}}
"""
USERS = {
    "admin": ("admin", ()),
    "office": ("office", ()),
    "teacher6a": ("teacher", ("6A",)),
    "guard": ("guard", ()),
}
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""argon2id with test-sized costs (the real default takes ~50 ms and 64 MiB per hash)."""


def password_of(username: str) -> str:
    return f"{username}-password-1"


class Clock:
    """A settable time source for WebContext.clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_web(
    tmp_path: Path,
    store_url: str | None = None,
    *,
    roster: str = ROSTER,
    now: datetime = SCHOOL_MORNING,
    settings: WebSettings | None = None,
    live: bool = False,
    central: str = CENTRAL,
    guardians: str = GUARDIANS,
) -> tuple[WebContext, FastAPI]:
    """A centre with one school, its roster and guardians imported into the store (`edge school import`, before
    the term: every student enrolled from IMPORTED_ON), a user of each role (USERS, with password_of(name)) and
    the app. live=True starts the live feed (LiveHub) too; close with ctx.close()."""
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    (tmp_path / "guardians.csv").write_text(guardians, encoding="utf-8")
    cfg = parse_central_text(central, base_dir=tmp_path)
    url = store_url or f"sqlite:///{tmp_path / 'centre.sqlite'}"
    store = open_store(url)
    import_db = WebDb(url)
    try:
        import_central(import_db, cfg, today=IMPORTED_ON)
    finally:
        import_db.close()
    ctx = WebContext(
        cfg,
        store,
        WebDb(url),
        settings=settings or WebSettings(cookie_secure=False),
        clock=Clock(now),
        hasher=FAST_HASHER,
        data_dir=tmp_path,
    )
    for name, (role, classes) in USERS.items():
        ctx.accounts.add(name, password_of(name), role, site_id=SITE, classes=classes)
    if live:
        from edge.central.web.live import LiveHub

        ctx.live = LiveHub(ctx)
        ctx.live.start()
    return ctx, create_app(ctx)


_LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = _LOGIN_CSRF.search(html)
    assert m, "no csrf_token in the page"
    return m.group(1)


def login(client: Any, username: str, password: str | None = None, next_url: str = "/") -> Any:
    """Log `client` (TestClient or httpx.Client) in as `username`; returns the login POST's response."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password if password is not None else password_of(username),
            "csrf_token": csrf_from(page.text),
            "next": next_url,
        },
        follow_redirects=False,
    )


_seq = itertools.count(1)


def checkin(
    person_id: str | None,
    at: datetime,
    *,
    direction: str = "in",
    decision: str = "granted",
    method: str = "card",
    gate: str = "main-in",
    gateway_id: str = "gw-1",
    site_id: str = SITE,
) -> dict[str, Any]:
    """A stored-shape check-in event (what the collector stores after validation)."""
    return {
        "schema_version": 1,
        "event_id": str(uuid.uuid4()),
        "site_id": site_id,
        "gateway_id": gateway_id,
        "gate": gate,
        "direction": direction,
        "occurred_at": rfc3339_ms(at),
        "seq": next(_seq),
        "method": method,
        "person_id": person_id,
        "decision": decision,
        "card_uid": None,
        "distance": None,
        "device_id": None,
        "clock_unsynced": False,
    }


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: FastAPI, ctx: WebContext | None = None) -> Iterator[LiveServer]:
    """uvicorn serving `app` on a free port in a named thread; stopped (live streams closed first) on exit."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"test-uvicorn-{port}", daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started, "uvicorn did not start"
        yield LiveServer(f"http://127.0.0.1:{port}", server, thread)
    finally:
        if ctx is not None and ctx.live is not None:
            ctx.live.close_clients()
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "uvicorn did not stop"


CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def browser_available() -> bool:
    """Chromium and chromedriver installed (prefer the `needs("chromium")` mark: under CI=true it fails, not skips)."""
    return problem("chromium") is None


@contextmanager
def browser(tmp_path: Path, width: int = 1100, height: int = 900) -> Iterator[Any]:
    """Headless Debian Chromium driven by Selenium, with a fresh profile in tmp_path; quit on exit. Without
    Chromium the test is skipped (failed under CI=true: tests/system_tools.py)."""
    require("chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    profile = tmp_path / f"chrome-profile-{uuid.uuid4().hex[:6]}"
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


SCREENSHOTS_ENV = "EDGE_SCREENSHOTS"
"""Where screenshot() writes. Unset (every test run): a folder under the test's tmp_path, so a run changes no
tracked file. scripts/screenshots.sh sets it to docs/screenshots to refresh the README's pictures."""


def screenshot(driver: Any, tmp_path: Path, name: str) -> Path:
    """Save the browser's window as `name`.png (into $EDGE_SCREENSHOTS, else tmp_path/screenshots) and check
    that a picture was written."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot {name}"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return path
