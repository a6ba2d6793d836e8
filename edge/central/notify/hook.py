"""Where the notifier meets the store: the `on_stored` hook that queues notices in the transaction storing the
check-ins, the notifier's own connections, and the arrivals the absence pass asks about.

    hook = NotifyHook(load_directories(cfg))
    store.store_batch(events, rejects, on_stored=hook)     # the collector does this for every batch
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from edge.central.notify import jobs as q
from edge.central.notify.directory import SchoolDirectory
from edge.central.notify.planner import jobs_for_checkin
from edge.central.store import sqlite_path
from edge.central.store.base import Tx

log = logging.getLogger(__name__)


class NotifyHook:
    """store_batch's on_stored: plans and inserts the notices of the newly stored check-ins in the same
    transaction. Only new events reach it (duplicates are filtered by the store), and a repeat that does reach
    it (the same student's second tap) hits the jobs' unique key. An exception here rolls the batch back and
    stops the collector unacknowledged — nothing is lost, and a bug cannot silently drop notices."""

    def __init__(self, directories: Mapping[str, SchoolDirectory]) -> None:
        self.directories = directories
        self.queued = 0

    def __call__(self, tx: Tx, stored: list[dict[str, Any]]) -> None:
        for event in stored:
            d = self.directories.get(str(event.get("site_id")))
            if d is not None:
                self.queued += q.enqueue(tx, jobs_for_checkin(d, event))


def connect(url: str) -> tuple[Any, q.Dialect]:
    """A connection of the notifier's own to the store at `url` (autocommit; transactions are explicit)."""
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg

        from edge.central.store.postgres import conninfo

        return psycopg.connect(conninfo(url), autocommit=True), "postgresql"
    conn = sqlite3.connect(sqlite_path(url), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn, "sqlite"


def _rfc3339(t: datetime) -> str:
    """UTC without a zone suffix: a prefix of every stored occurred_at of that second, so string bounds work."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def arrivals(conn: Any, site: str, start: datetime, end: datetime) -> set[str]:
    """Students of `site` with a granted 'in' check-in in [start, end) — the absence pass's question."""
    dialect: q.Dialect = "sqlite" if isinstance(conn, sqlite3.Connection) else "postgresql"
    sql = (
        "SELECT DISTINCT person_id FROM checkins WHERE site_id = ? AND decision = 'granted' AND direction = 'in' "
        "AND person_id IS NOT NULL AND occurred_at >= ? AND occurred_at < ?"
    )
    rows = conn.execute(q.placeholders(dialect, sql), (site, _rfc3339(start), _rfc3339(end))).fetchall()
    return {r[0] for r in rows}


def excused_on(conn: Any, dialect: q.Dialect, site: str, day: date) -> set[str]:
    """Students the school excused on `day` (the web app's excuses): excused is excused, never "absent". A store
    without the web app's tables (migration 0004) has no excuses."""
    try:
        rows = conn.execute(
            q.placeholders(dialect, "SELECT person_id FROM excuses WHERE site_id = ? AND day = ?"),
            (site, day.isoformat()),
        ).fetchall()
    except Exception:
        if dialect == "postgresql" and getattr(conn, "info", None) is not None and not conn.autocommit:
            conn.rollback()
        return set()
    return {r[0] for r in rows}
