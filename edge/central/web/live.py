"""The live feed behind Today: one thread ("web-live") polls the store for check-ins stored since the last look and
hands each to every live viewer (Server-Sent Events, routes/live.py).

Why poll the database and not subscribe to MQTT: "stored" is what the page promises (a check-in that the
collector refused never appears), it works whichever process stored it, and the same query serves
Last-Event-ID resume. Every check-in has an ingest number: SQLite's rowid (one writer, commit order), PostgreSQL's
`ingest_id` sequence (migration 0004). A sequence number is taken before commit, so a smaller one can become
visible after a larger one: missing numbers are remembered as gaps and asked for again for GAP_TTL_S.

Viewers are bounded: each has a queue of settings.live_queue events; a viewer that falls that far behind (a phone
on a bad link) is dropped, not buffered for ever — its browser reconnects and resumes from the store by id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edge.central.web import school_day as sd

if TYPE_CHECKING:
    from edge.central.web.context import WebContext

log = logging.getLogger(__name__)
GAP_TTL_S = 10.0
MAX_GAPS = 10_000
BATCH = 1000
DROP = object()
"""Put in a viewer's queue when it is dropped or the server stops: its stream ends."""


@dataclass(eq=False)
class Viewer:
    site_id: str
    view: Callable[[dict[str, Any]], dict[str, Any] | None]
    """What this viewer may see of an event (visibility.checkin_view), None for nothing."""
    queue: asyncio.Queue[Any]
    loop: asyncio.AbstractEventLoop
    dropped: bool = False
    sent: int = 0
    seen: set[str] = field(default_factory=set)
    username: str | None = None
    """Whose stream this is, so logout or disabling the account ends it at once (end_user)."""

    def offer(self, item: Any) -> None:
        """Runs on the viewer's event loop."""
        if self.dropped:
            return
        if item is DROP:
            self.dropped = True
        else:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                self.dropped = True
                log.info("live viewer of %s dropped: %d events waiting", self.site_id, self.queue.qsize())
        while not self.queue.empty():  # make room for the end marker
            self.queue.get_nowait()
        self.queue.put_nowait(DROP)


class LiveHub:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.poll_s = ctx.settings.live_poll_s
        self.queue_size = ctx.settings.live_queue
        self._viewers: set[Viewer] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._gaps: dict[int, float] = {}
        self.high = self.max_id()
        self.polls = 0
        self.delivered = 0
        self.dropped = 0
        self.heartbeat: Any = None
        """An edge.ops.heartbeat.Heartbeat beaten every poll (the systemd watchdog sees a stuck feed)."""

    # the ingest number -------------------------------------------------------------------------------------
    def _id_column(self) -> str:
        return "rowid" if self.ctx.db.engine == "sqlite" else "ingest_id"

    def max_id(self) -> int:
        """The newest ingest number now (a page rendered after this asks the stream to start from it)."""
        row = self.ctx.db.one(f"SELECT max({self._id_column()}) AS m FROM checkins")
        return int(row["m"] or 0) if row else 0

    def rows_after(self, after: int, site_id: str | None = None, limit: int = BATCH) -> list[dict[str, Any]]:
        col = self._id_column()
        sql = f"SELECT {col} AS ingest_id, {sd.CHECKIN_FIELDS}, site_id FROM checkins WHERE {col} > ?"
        params: list[Any] = [after]
        if site_id is not None:
            sql += " AND site_id = ?"
            params.append(site_id)
        return self.ctx.db.query(sql + f" ORDER BY {col} LIMIT ?", [*params, limit])

    def _gap_rows(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        for k in [k for k, t in self._gaps.items() if now - t > GAP_TTL_S]:
            del self._gaps[k]
        if not self._gaps:
            return []
        ids = sorted(self._gaps)[:500]
        col = self._id_column()
        marks = ", ".join("?" for _ in ids)
        rows = self.ctx.db.query(
            f"SELECT {col} AS ingest_id, {sd.CHECKIN_FIELDS}, site_id FROM checkins WHERE {col} IN ({marks})", ids
        )
        for r in rows:
            self._gaps.pop(int(r["ingest_id"]), None)
        return rows

    def poll_once(self) -> list[dict[str, Any]]:
        """New rows since the last poll (and rows that filled a gap); advances the high-water mark."""
        rows = self._gap_rows()
        fresh = self.rows_after(self.high)
        for r in fresh:
            i = int(r["ingest_id"])
            if i > self.high + 1:
                now = time.monotonic()
                for missing in range(self.high + 1, min(i, self.high + 1 + MAX_GAPS)):
                    self._gaps[missing] = now
            self.high = max(self.high, i)
        if len(self._gaps) > MAX_GAPS:
            for k in sorted(self._gaps)[: len(self._gaps) - MAX_GAPS]:
                del self._gaps[k]
        self.polls += 1
        return rows + fresh

    # events --------------------------------------------------------------------------------------------------
    def events_for(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows → events for the page: the person's name and class from the directory, the local time, and the
        new counts of the classes touched (through the attendance rule, once per school per batch)."""
        events: list[dict[str, Any]] = []
        by_site: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_site.setdefault(r["site_id"], []).append(r)
        for site_id, site_rows in by_site.items():
            d = self.ctx.directories.get(site_id)
            if d is None:
                continue
            now = self.ctx.clock()
            day = d.calendar.local_day(now)
            touched = {d.students[r["person_id"]].class_name for r in site_rows if r["person_id"] in d.students}
            summaries: dict[str, dict[str, int]] = {}
            if touched:
                by_class = sd.school_day(self.ctx.db, d.calendar, site_id, d.students.values(), day, now)
                summaries = {s.class_name: s.counts for s in sd.summarise(by_class) if s.class_name in touched}
            for r in site_rows:
                person = d.students.get(r["person_id"]) if r["person_id"] else None
                at = sd.parse_instant(r["occurred_at"])
                events.append(
                    {
                        "id": int(r["ingest_id"]),
                        "event_id": r["event_id"],
                        "site_id": site_id,
                        "person_id": r["person_id"],
                        "name": person.name if person else None,
                        "class_name": person.class_name if person else None,
                        "occurred_at": r["occurred_at"],
                        "time": d.calendar.local(at).strftime("%H:%M:%S"),
                        "today": d.calendar.local_day(at) == day,
                        "direction": r["direction"],
                        "decision": r["decision"],
                        "method": r["method"],
                        "gate": r["gate"],
                        "gateway_id": r["gateway_id"],
                        "counts": summaries.get(person.class_name) if person else None,
                    }
                )
        return events

    # viewers ---------------------------------------------------------------------------------------------------
    def subscribe(
        self, site_id: str, view: Callable[[dict[str, Any]], dict[str, Any] | None], username: str | None = None
    ) -> Viewer:
        """Call from the viewer's event loop (the SSE handler)."""
        viewer = Viewer(site_id, view, asyncio.Queue(self.queue_size), asyncio.get_running_loop())
        viewer.username = username
        with self._lock:
            self._viewers.add(viewer)
        return viewer

    def unsubscribe(self, viewer: Viewer) -> None:
        with self._lock:
            self._viewers.discard(viewer)
        if viewer.dropped:
            self.dropped += 1

    @property
    def viewers(self) -> int:
        with self._lock:
            return len(self._viewers)

    def publish(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            viewers = list(self._viewers)
        for v in viewers:
            for e in events:
                shown = v.view(e) if e["site_id"] == v.site_id else None
                if shown is not None:
                    with contextlib.suppress(RuntimeError):  # its loop has closed: the viewer is gone
                        v.loop.call_soon_threadsafe(v.offer, shown)
                        self.delivered += 1

    def end_user(self, username: str) -> int:
        """End every live stream of `username` (logout, account disabled): its rights ended, so does its feed.
        Streams in another server process end at their next re-check (routes/live.py)."""
        with self._lock:
            viewers = [v for v in self._viewers if v.username == username]
        for v in viewers:
            with contextlib.suppress(RuntimeError):
                v.loop.call_soon_threadsafe(v.offer, DROP)
        return len(viewers)

    def close_clients(self) -> None:
        """End every live stream (server shutdown: uvicorn waits for open responses)."""
        with self._lock:
            viewers = list(self._viewers)
        for v in viewers:
            with contextlib.suppress(RuntimeError):
                v.loop.call_soon_threadsafe(v.offer, DROP)

    # the thread --------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="web-live", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            if self.heartbeat is not None:
                self.heartbeat.beat()
            try:
                rows = self.poll_once()
                if rows:
                    self.publish(self.events_for(rows))
            except Exception:
                log.exception("live feed poll failed; retrying")
            self._stop.wait(max(0.0, self.poll_s - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        self.close_clients()
        if self._thread is not None:
            self._thread.join(5)
