"""`edge bench web`: the school web app with a school year of data, measured the way its users meet it.

It generates a school (STUDENTS in ~50 classes, one guardian each, DAYS school days of check-ins — about one per
student-day, 94 % arrivals with some late, a few departures — and an 'arrived' notice per arrival) into the store,
starts the real app (uvicorn, the live feed) in a CHILD process on a free port, and measures from this process
over HTTP with keep-alive clients:

* Today and Class day pages (target p95 ≤ 150 ms), the JSON API's list endpoints (p95 ≤ 100 ms),
* the monthly report for the whole school (≤ 2 s): JSON summary, XLSX and Ed-Fi downloads,
* VIEWERS concurrent live viewers (SSE): each new check-in stored here must reach every viewer within 1 s.

The server runs in its own process so the client's work (50 SSE parsers, the generator) does not share its
interpreter lock; both share this machine's cores, as they would on a small school server. The app's clock is
pinned to the last school day at 08:30 (after the cut-off), so Today shows a full morning.
Figures are printed, nothing is asserted: a benchmark, not a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from edge.bench.stats import summary
from edge.contract.checkin import rfc3339_ms

SITE = "bench-school"
TZ = "Asia/Ho_Chi_Minh"
FIRST_DAY = date(2026, 9, 7)  # a Monday
PASSWORD = "bench-password-1"
TARGETS_MS = {"page_p95": 150.0, "api_p95": 100.0, "month_report": 2000.0, "sse_delivery": 1000.0}
BATCH = 5000


# --------------------------------------------------------------------------------------------- the school


def school_days(n: int) -> list[date]:
    out: list[date] = []
    d = FIRST_DAY
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def class_names(n: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    per_grade = -(-n // 4)
    return [f"{6 + i // per_grade}{letters[i % per_grade]}" for i in range(n)]


def write_school(work: Path, students: int, days: list[date], classes: int) -> tuple[Path, list[str]]:
    names = class_names(classes)
    roster = ["person_id,name,class,card_uid"]
    guardians = ["person_id,name,phone,email,channel,language,kinds"]
    for i in range(students):
        roster.append(f"s{i:05d},Học sinh {i:05d},{names[i % classes]},{0x0F00000000 + i:010X}")
        guardians.append(f"s{i:05d},Phụ huynh {i:05d},,,hook,vi,arrived;absent")
    (work / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
    (work / "guardians.csv").write_text("\n".join(guardians) + "\n", encoding="utf-8")
    cfg = f"""schools:
  - id: {SITE}
    name: Trường THCS Bench
    edfi_school_id: 255901001
    timezone: {TZ}
    roster: roster.csv
    guardians: guardians.csv
    calendar:
      terms: [{{name: "Năm học", start: {days[0].isoformat()}, end: {days[-1].isoformat()}}}]
      cutoff: "07:45"
      dismissal: "16:30"
    channels:
      - {{name: hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: "0123456789abcdef0123"}}
"""
    path = work / "central.yaml"
    path.write_text(cfg, encoding="utf-8")
    return path, names


_NOTICE = (
    "INSERT INTO notify_jobs (key, site_id, person_id, day, kind, guardian_id, channel, language, template, time, "
    "text, subject, event_id, status, attempts, created_at, next_at, sent_at) "
    "VALUES (?, ?, ?, ?, 'arrived', ?, 'hook', 'vi', 'arrived', ?, ?, '', ?, 'sent', 1, ?, ?, ?)"
)


def _notices(tx: Any, stored: list[dict[str, Any]]) -> None:
    """An 'arrived' notice per stored arrival (what the notifier's hook would have queued, already sent)."""
    zone = ZoneInfo(TZ)
    rows = []
    now = time.time()
    for e in stored:
        if e["direction"] != "in":
            continue
        local = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).astimezone(zone)
        day = local.date().isoformat()
        pid = e["person_id"]
        key = f"{SITE}:{pid}:{day}:arrived:{pid}-g1"
        rows.append(
            (key, SITE, pid, day, f"{pid}-g1", local.strftime("%H:%M"), f"{pid} arrived", e["event_id"], now, now, now)
        )
    if rows:
        tx.executemany(_NOTICE, rows)


def checkin(pid: str, at: datetime, direction: str, seq: int, method: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "event_id": str(uuid.uuid4()),
        "site_id": SITE,
        "gateway_id": "gw-1",
        "gate": "main-in" if direction == "in" else "main-out",
        "direction": direction,
        "occurred_at": rfc3339_ms(at),
        "seq": seq,
        "method": method,
        "person_id": pid,
        "decision": "granted",
        "card_uid": None,
        "distance": None,
        "device_id": None,
        "clock_unsynced": False,
    }


def generate(store: Any, students: int, days: list[date], seed: int = 7) -> dict[str, Any]:
    """The year's check-ins and notices, in batches of BATCH, one transaction each; returns counts and time."""
    rng = random.Random(seed)
    zone = ZoneInfo(TZ)
    seq = 0
    batch: list[dict[str, Any]] = []
    stored = 0
    t0 = time.perf_counter()

    def flush() -> None:
        nonlocal stored, batch
        if batch:
            stored += store.store_batch(batch, on_stored=_notices).count("stored")
            batch = []

    for d in days:
        base = datetime.combine(d, dtime(7, 20), tzinfo=zone)
        for i in range(students):
            r = rng.random()
            if r < 0.94:
                seq += 1
                at = base + timedelta(seconds=rng.gauss(0, 600))
                batch.append(checkin(f"s{i:05d}", at.astimezone(UTC), "in", seq, "card" if r < 0.75 else "face"))
                if rng.random() < 0.064:
                    seq += 1
                    out = datetime.combine(d, dtime(16, 35), tzinfo=zone) + timedelta(seconds=rng.random() * 1800)
                    batch.append(checkin(f"s{i:05d}", out.astimezone(UTC), "out", seq, "card"))
            if len(batch) >= BATCH:
                flush()
    flush()
    return {"checkins": stored, "seconds": round(time.perf_counter() - t0, 1)}


# ----------------------------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(config: str, url: str, now_iso: str, port: int, ready: Any, stop: Any) -> None:
    """The child process: the app as `edge server run` builds it, with the clock pinned to `now_iso`."""
    import logging

    import uvicorn

    from edge.central.store import open_store
    from edge.central.web.app import create_app
    from edge.central.web.context import WebContext, WebSettings
    from edge.central.web.db import WebDb
    from edge.central.web.live import LiveHub
    from edge.config.central import load_central_config

    logging.basicConfig(level=logging.WARNING)
    now = datetime.fromisoformat(now_iso)
    ctx = WebContext(
        load_central_config(config),
        open_store(url),
        WebDb(url),
        settings=WebSettings(cookie_secure=False),
        clock=lambda: now,
    )
    ctx.live = LiveHub(ctx)
    ctx.live.start()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3)
    )
    web = threading.Thread(target=server.run, name="web-uvicorn", daemon=True)
    web.start()
    while not server.started and web.is_alive():
        stop.wait(0.05)
    ready.set()
    stop.wait()
    ctx.live.close_clients()
    server.should_exit = True
    web.join(10)
    ctx.close()
    ctx.store.close()


@contextlib.contextmanager
def server_process(config: Path, url: str, now: datetime) -> Iterator[str]:
    mp = multiprocessing.get_context("spawn")
    ready, stop = mp.Event(), mp.Event()
    port = free_port()
    proc = mp.Process(
        target=_serve, args=(str(config), url, now.isoformat(), port, ready, stop), name="bench-web-server"
    )
    proc.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("the web app did not start within 120 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        proc.join(20)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


# -------------------------------------------------------------------------------------------- measurements

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(client: httpx.Client, username: str) -> None:
    page = client.get("/login")
    m = _CSRF.search(page.text)
    if m is None:
        raise RuntimeError("no CSRF token on /login")
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": m.group(1), "next": "/"})
    if r.status_code not in (200, 303) or "edge_session" not in client.cookies:
        raise RuntimeError(f"login as {username} failed: {r.status_code}")


def timed(
    client: httpx.Client, urls: Callable[[int], str], n: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """n sequential GETs (after one warm-up), milliseconds; any non-200 is counted, not hidden."""
    client.get(urls(0), headers=headers)
    ms: list[float] = []
    bad = 0
    size = 0
    for i in range(n):
        t = time.perf_counter()
        r = client.get(urls(i), headers=headers)
        ms.append((time.perf_counter() - t) * 1000)
        size = len(r.content)
        bad += r.status_code != 200
    return {**summary(ms), "errors": bad, "bytes": size}


async def _viewer(
    base: str,
    cookies: dict[str, str],
    path: str,
    arrivals: dict[str, list[float]],
    connected: asyncio.Event,
    counter: list[int],
    total: int,
    done: asyncio.Event,
) -> None:
    async with (
        httpx.AsyncClient(base_url=base, cookies=cookies, timeout=httpx.Timeout(30, read=60)) as client,
        client.stream("GET", path, headers={"Accept": "text/event-stream"}) as r,
    ):
        counter[0] += 1
        if counter[0] == total:
            connected.set()
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                e = json.loads(line[6:])
                arrivals.setdefault(e["event_id"], []).append(time.time())
            if done.is_set():
                return


def measure_sse(
    base: str, cookies: dict[str, str], store: Any, viewers: int, events: int, rate: float, now: datetime
) -> dict[str, Any]:
    """VIEWERS live streams; EVENTS check-ins stored at RATE/s from another thread; per delivery, stored → received."""
    arrivals: dict[str, list[float]] = {}
    stored_at: dict[str, float] = {}

    def produce() -> None:
        gap = threading.Event()
        for i in range(events):
            e = checkin(f"s{i % 50:05d}", now.astimezone(UTC) - timedelta(seconds=events - i), "in", 10**9 + i, "card")
            store.store_batch([e])
            stored_at[e["event_id"]] = time.time()
            gap.wait(1.0 / rate)

    async def run() -> None:
        connected, done = asyncio.Event(), asyncio.Event()
        counter = [0]
        tasks = [
            asyncio.create_task(_viewer(base, cookies, f"/s/{SITE}/live", arrivals, connected, counter, viewers, done))
            for _ in range(viewers)
        ]
        await asyncio.wait_for(connected.wait(), 60)
        await asyncio.sleep(1.0)  # the streams are subscribed once their first byte came; give the hub a beat
        producer = threading.Thread(target=produce, name="bench-sse-producer")
        producer.start()
        await asyncio.to_thread(producer.join)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum(len(v) for v in arrivals.values()) < viewers * events:
            await asyncio.sleep(0.1)
        done.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
    lat = [(t - stored_at[eid]) * 1000 for eid, ts in arrivals.items() if eid in stored_at for t in ts]
    expected = viewers * events
    return {
        "viewers": viewers,
        "checkins": events,
        "rate_per_s": rate,
        "deliveries": len(lat),
        "missing": expected - len(lat),
        "within_1s": round(sum(x <= 1000 for x in lat) / expected, 4) if expected else None,
        "latency_ms": summary(lat),
    }


def analyse(db: Any) -> None:
    """Planner statistics after the bulk load, as a database that has lived a year has them (otherwise the first
    minutes measure PostgreSQL's autovacuum/autoanalyze catching up, not the app)."""
    if db.engine == "postgresql":
        import psycopg

        from edge.central.store.postgres import conninfo

        with psycopg.connect(conninfo(db.url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:
        with db.transaction() as tx:
            tx.execute("ANALYZE")


def _store_url(store: str, work: Path, stack: contextlib.ExitStack) -> str:
    if store == "sqlite":
        return f"sqlite:///{work / 'centre.sqlite'}"
    if store == "postgresql":
        from edge.devtools.postgres import PostgresServer

        pg = stack.enter_context(PostgresServer(fsync=True))
        return pg.fresh_database()
    return store


def bench_web(
    store: str = "sqlite",
    students: int = 2000,
    days: int = 180,
    classes: int = 50,
    viewers: int = 50,
    samples: int = 40,
    sse_events: int = 60,
    sse_rate: float = 5.0,
) -> dict[str, Any]:
    from argon2 import PasswordHasher

    from edge.central.store import open_store
    from edge.central.web.accounts import Accounts
    from edge.central.web.db import WebDb
    from edge.central.web.sessions import ApiTokens

    result: dict[str, Any] = {"store": store.split("://", maxsplit=1)[0], "students": students, "school_days": days}
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edge-bench-web-")))
        url = _store_url(store, work, stack)
        the_days = school_days(days)
        config, names = write_school(work, students, the_days, min(classes, students))
        s = open_store(url)
        stack.callback(s.close)
        result["generate"] = generate(s, students, the_days)
        db = WebDb(url)
        stack.callback(db.close)
        from edge.central.school.files import import_central
        from edge.config.central import load_central_config

        # the school into the store (`edge school import`): the web app runs on the store, enrolled all year
        import_central(db, load_central_config(config), today=the_days[0])
        analyse(db)
        accounts = Accounts(db, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        accounts.add("office", PASSWORD, "office", site_id=SITE)
        accounts.add("teacher", PASSWORD, "teacher", site_id=SITE, classes=(names[0],))
        token = ApiTokens(db, accounts).create("office", "bench")
        last = the_days[-1]
        now = datetime.combine(last, dtime(8, 30), tzinfo=ZoneInfo(TZ))
        month = (last.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")  # the last full month
        with server_process(config, url, now) as base, httpx.Client(base_url=base, timeout=120) as c:
            login(c, "office")
            bearer = {"Authorization": f"Bearer {token}"}
            n = samples
            pages = {
                "today": timed(c, lambda i: f"/s/{SITE}/today", n),
                "class_day": timed(c, lambda i: f"/s/{SITE}/class/{names[i % len(names)]}", n),
                "student": timed(c, lambda i: f"/s/{SITE}/student/s{(i * 37) % students:05d}", n),
            }
            day = last.isoformat()
            api = {
                "schools": timed(c, lambda i: "/api/v1/schools", n, bearer),
                "classes": timed(c, lambda i: f"/api/v1/schools/{SITE}/classes", n, bearer),
                "class_day": timed(
                    c, lambda i: f"/api/v1/schools/{SITE}/classes/{names[i % len(names)]}/days/{day}", n, bearer
                ),
                "checkins": timed(c, lambda i: f"/api/v1/schools/{SITE}/checkins?limit=100", n, bearer),
                "checkins_deep": timed(
                    c,
                    lambda i: (
                        f"/api/v1/schools/{SITE}/checkins?limit=100&since={the_days[i % days].isoformat()}T00:00:00Z"
                    ),
                    n,
                    bearer,
                ),
            }
            k = max(3, samples // 10)
            reports = {
                "month_summary_api": timed(c, lambda i: f"/api/v1/reports/{SITE}/summary?month={month}", k, bearer),
                "month_page": timed(c, lambda i: f"/s/{SITE}/reports?month={month}", k),
                "month_class_page": timed(c, lambda i: f"/s/{SITE}/reports?month={month}&class={names[i % 50]}", k),
                "month_csv": timed(c, lambda i: f"/s/{SITE}/reports/download.csv?month={month}", k),
                "month_xlsx": timed(c, lambda i: f"/s/{SITE}/reports/download.xlsx?month={month}", k),
                "month_edfi": timed(c, lambda i: f"/s/{SITE}/reports/download.json?month={month}", k),
            }
            sse = measure_sse(base, dict(c.cookies), s, viewers, sse_events, sse_rate, now)
        result.update({"month": month, "pages": pages, "api": api, "reports": reports, "sse": sse})
    result["targets_ms"] = TARGETS_MS
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    """The machine's 1/5/15-minute load (2 cores here, shared): tails grow when someone else is busy too."""
    return result


def table(r: dict[str, Any]) -> str:
    """The figures as a Markdown table (what the README quotes)."""
    lines = [
        f"store {r['store']}: {r['students']} students, {r['school_days']} school days, "
        f"{r['generate']['checkins']:,} check-ins (+ notices) generated in {r['generate']['seconds']} s; "
        f"load average after {r['loadavg_after']}",
        "",
        "| measured | p50 ms | p95 ms | max ms | target | bytes |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for group, target in (("pages", "p95 ≤ 150 ms"), ("api", "p95 ≤ 100 ms"), ("reports", "≤ 2000 ms")):
        for name, m in r[group].items():
            err = f" ({m['errors']} errors)" if m["errors"] else ""
            lines.append(f"| {group}: {name}{err} | {m['p50']} | {m['p95']} | {m['max']} | {target} | {m['bytes']:,} |")
    s = r["sse"]
    lat = s["latency_ms"]
    lines.append(
        f"| live: {s['viewers']} SSE viewers × {s['checkins']} check-ins ({s['rate_per_s']}/s), stored → received, "
        f"{s['within_1s']:.1%} within 1 s, {s['missing']} missing | {lat['p50']} | {lat['p95']} | {lat['max']} "
        "| every one ≤ 1000 ms | |"
    )
    return "\n".join(lines)
