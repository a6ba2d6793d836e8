"""`edge bench parents`: the parents' app (/p/) over a school year of data, as parents' phones meet it.

The same generated school as `edge bench web` (STUDENTS, one guardian each, DAYS school days of check-ins with an
'arrived' notice per arrival, the school imported into the store), plus an absence request for one student in
ten; a signed-in session per sampled parent (made in the store, as a verified code would), the real app in a
child process, and sequential GETs from this process with a different parent's cookie each time: the home page
(today's status), the child page (today, this month, notices, requests, consent), last month's history, the
JSON status the offline view keeps, the settings page. Target (issue #24): p95 ≤ 150 ms. Printed, not asserted.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from edge.bench.stats import summary
from edge.bench.web import SITE, TZ, _store_url, analyse, generate, school_days, server_process, write_school

TARGET_P95_MS = 150.0


def _requests(db: Any, students: int, days: list[date]) -> int:
    """An absence request for one student in ten, a third of them decided (what the child page lists)."""
    n = 0
    with db.transaction() as tx:
        for i in range(0, students, 10):
            d = days[(i * 7) % len(days)]
            state = ("pending", "approved", "declined")[i % 3]
            tx.execute(
                "INSERT INTO absence_requests (site_id, person_id, guardian_id, first_day, last_day, reason, state,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (SITE, f"s{i:05d}", f"s{i:05d}-g1", d.isoformat(), d.isoformat(), "ốm", state, time.time()),
            )
            n += 1
    return n


def bench_parents(store: str = "sqlite", students: int = 2000, days: int = 180, samples: int = 60) -> dict[str, Any]:
    from edge.central.parents import sessions
    from edge.central.school.files import import_central
    from edge.central.store import open_store
    from edge.central.web.db import WebDb
    from edge.config.central import load_central_config

    result: dict[str, Any] = {"store": store.split("://", maxsplit=1)[0], "students": students, "school_days": days}
    result["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edge-bench-parents-")))
        url = _store_url(store, work, stack)
        the_days = school_days(days)
        config, _ = write_school(work, students, the_days, min(50, students))
        s = open_store(url)
        stack.callback(s.close)
        result["generate"] = generate(s, students, the_days)
        db = WebDb(url)
        stack.callback(db.close)
        import_central(db, load_central_config(config), today=the_days[0])
        result["absence_requests"] = _requests(db, students, the_days)
        analyse(db)
        parents = [f"s{(i * 37) % students:05d}" for i in range(samples)]
        tokens = {pid: sessions.create(db, SITE, f"{pid}-g1", "bench phone") for pid in parents}
        last = the_days[-1]
        now = datetime.combine(last, dtime(8, 30), tzinfo=ZoneInfo(TZ))
        prev_month = (last.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        with server_process(config, url, now) as base, httpx.Client(base_url=base, timeout=120) as c:

            def timed(path_of: Any) -> dict[str, Any]:
                ms: list[float] = []
                bad = 0
                for i, pid in enumerate([parents[0], *parents]):  # the first request warms up, not counted
                    headers = {"Cookie": f"{sessions.COOKIE}={tokens[pid]}"}
                    t = time.perf_counter()
                    r = c.get(path_of(pid), headers=headers)
                    if i:
                        ms.append((time.perf_counter() - t) * 1000)
                        bad += r.status_code != 200
                return {**summary(ms), "errors": bad}

            result["pages"] = {
                "home": timed(lambda pid: "/p/"),
                "child": timed(lambda pid: f"/p/child/{pid}"),
                "child_last_month": timed(lambda pid: f"/p/child/{pid}?month={prev_month}"),
                "api_children": timed(lambda pid: "/p/api/children"),
                "settings": timed(lambda pid: "/p/settings"),
            }
    result["target_p95_ms"] = TARGET_P95_MS
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def table(r: dict[str, Any]) -> str:
    lines = [
        f"store {r['store']}: {r['students']} students, {r['school_days']} school days, "
        f"{r['generate']['checkins']:,} check-ins; load average after {r['loadavg_after']}",
        "",
        "| parents' page | n | p50 ms | p95 ms | max ms | errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in r["pages"].items():
        lines.append(f"| {name} | {m['n']} | {m['p50']} | {m['p95']} | {m['max']} | {m['errors']} |")
    lines.append(f"\ntarget p95 ≤ {r['target_p95_ms']:.0f} ms")
    return "\n".join(lines)


def side_by_side(runs: list[dict[str, Any]]) -> str:
    """One table of several stores' runs: p50 / p95 per page and store, and the load average around each."""
    head = " | ".join(f"{r['store']} p50 / p95 ms" for r in runs)
    lines = [f"| parents' page | {head} |", "| --- |" + " --- |" * len(runs)]
    for page in runs[0]["pages"]:
        cells = " | ".join(f"{r['pages'][page]['p50']} / {r['pages'][page]['p95']}" for r in runs)
        lines.append(f"| {page} | {cells} |")
    loads = "; ".join(f"{r['store']} {r.get('loadavg_before')} -> {r['loadavg_after']}" for r in runs)
    lines.append(f"\nload average (1, 5, 15 min) before -> after: {loads}; target p95 <= {TARGET_P95_MS:.0f} ms")
    return "\n".join(lines)
