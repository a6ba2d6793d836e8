"""The evidence that the gates worked, as rows in the central store (migration 0006_absence_holds).

Who writes it: the collector (edge/central/collector/witness.py), not the web app's GateMonitor. The collector is the
one process every tap must pass through: when it is down or cut from the broker nothing reaches the store, so its
own uptime is part of the evidence, and what it sees of the gateways is exactly what can reach the store. The web
app is a screen: it may be stopped, restarted or run elsewhere without any tap being lost, so making the
notifier's safety depend on it would hold batches for the wrong reason (or worse, trust a monitor that is not on
the data path).

- collector_uptime: one row per period a collector was connected and subscribed; `until_at` moves on each beat.
- gateway_links: each gateway's last retained status, when it was last heard from, its last health report's
  outbox backlog, its last check-in.
- gateway_link_log: every status change, so a window in the past can be judged (a notifier started at 09:00
  judges the 07:30 cut-off from these rows, not from what it sees at 09:00).

Times are Unix seconds. Functions take an open transaction with `execute` / `query` and `?` placeholders
(edge.central.web.db.WebTx, on both engines)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

KEEP_S = 14 * 86400.0
"""Evidence older than this is pruned (the collector does it hourly): a held batch is judged within a day."""


class DbTx(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


@dataclass
class LinkObservation:
    """What the collector learnt of one gateway since its last flush."""

    site_id: str
    gateway_id: str
    status: str | None = None
    status_at: float | None = None
    last_seen: float | None = None
    health_at: float | None = None
    outbox_depth: int | None = None
    outbox_oldest_age_s: float | None = None
    last_checkin_at: float | None = None
    transitions: list[tuple[float, str]] = field(default_factory=list)
    """Status messages in the order they came: (at, status)."""


def record_uptime(tx: DbTx, collector_id: str, since: float, until: float) -> None:
    """The collector is connected and subscribed from `since` (its connection's start) until `until` (now)."""
    n = tx.execute(
        "UPDATE collector_uptime SET until_at = ? WHERE collector_id = ? AND since_at = ?", (until, collector_id, since)
    )
    if n == 0:
        tx.execute(
            "INSERT INTO collector_uptime (collector_id, since_at, until_at) VALUES (?, ?, ?)",
            (collector_id, since, until),
        )


def record_link(tx: DbTx, obs: LinkObservation) -> None:
    """Merge one observation into gateway_links, logging each change of status."""
    rows = tx.query(
        "SELECT status, status_at FROM gateway_links WHERE site_id = ? AND gateway_id = ?",
        (obs.site_id, obs.gateway_id),
    )
    status = rows[0]["status"] if rows else None
    status_at = rows[0]["status_at"] if rows else None
    for at, new in obs.transitions:
        if new != status:
            tx.execute(
                "INSERT INTO gateway_link_log (site_id, gateway_id, at, status) VALUES (?, ?, ?, ?)",
                (obs.site_id, obs.gateway_id, at, new),
            )
            status, status_at = new, at
    if not rows:
        tx.execute(
            "INSERT INTO gateway_links (site_id, gateway_id, status, status_at) VALUES (?, ?, ?, ?)",
            (obs.site_id, obs.gateway_id, status or "unknown", status_at if status_at is not None else 0.0),
        )
    tx.execute(
        "UPDATE gateway_links SET status = ?, status_at = ?, last_seen = COALESCE(?, last_seen), "
        "last_checkin_at = COALESCE(?, last_checkin_at) WHERE site_id = ? AND gateway_id = ?",
        (
            status or "unknown", status_at if status_at is not None else 0.0, obs.last_seen, obs.last_checkin_at,
            obs.site_id, obs.gateway_id,
        ),
    )  # fmt: skip
    if obs.health_at is not None:  # a health report replaces the previous one's backlog (an absent age is None)
        tx.execute(
            "UPDATE gateway_links SET health_at = ?, outbox_depth = ?, outbox_oldest_age_s = ? "
            "WHERE site_id = ? AND gateway_id = ?",
            (obs.health_at, obs.outbox_depth, obs.outbox_oldest_age_s, obs.site_id, obs.gateway_id),
        )


def prune(tx: DbTx, before: float) -> None:
    """Forget evidence older than `before`, keeping each gateway's newest status change (the state it is in)."""
    tx.execute("DELETE FROM collector_uptime WHERE until_at < ?", (before,))
    tx.execute(
        "DELETE FROM gateway_link_log WHERE at < ? AND id NOT IN "
        "(SELECT MAX(id) FROM gateway_link_log GROUP BY site_id, gateway_id)",
        (before,),
    )


@dataclass(frozen=True)
class Link:
    gateway_id: str
    status: str
    status_at: float
    last_seen: float | None
    health_at: float | None
    outbox_depth: int | None
    outbox_oldest_age_s: float | None
    last_checkin_at: float | None


@dataclass(frozen=True)
class Evidence:
    """What the store holds about one school's gates from `start` on."""

    start: float
    uptime: list[tuple[float, float]]
    """(since, until) of every collector's connected periods that reach into the window, by since."""
    links: dict[str, Link]
    log: dict[str, list[tuple[float, str]]]
    """Per gateway: its status at `start` (the last change before it, if any) and every change after, by time."""
    checkins_today: int
    """Check-ins of any decision stored for the school since the start of its day."""


def load(tx: DbTx, site_id: str, start: float, day_start_rfc3339: str) -> Evidence:
    uptime = [
        (float(r["since_at"]), float(r["until_at"]))
        for r in tx.query(
            "SELECT since_at, until_at FROM collector_uptime WHERE until_at >= ? ORDER BY since_at", (start - 3600,)
        )
    ]
    links = {
        r["gateway_id"]: Link(
            r["gateway_id"],
            r["status"],
            float(r["status_at"]),
            r["last_seen"],
            r["health_at"],
            r["outbox_depth"],
            r["outbox_oldest_age_s"],
            r["last_checkin_at"],
        )
        for r in tx.query("SELECT * FROM gateway_links WHERE site_id = ?", (site_id,))
    }
    log: dict[str, list[tuple[float, str]]] = {}
    before = tx.query(
        "SELECT l.gateway_id, l.at, l.status FROM gateway_link_log l WHERE l.site_id = ? AND l.id IN "
        "(SELECT MAX(id) FROM gateway_link_log WHERE site_id = ? AND at < ? GROUP BY gateway_id)",
        (site_id, site_id, start),
    )
    after = tx.query(
        "SELECT gateway_id, at, status FROM gateway_link_log WHERE site_id = ? AND at >= ? ORDER BY at, id",
        (site_id, start),
    )
    for r in [*before, *after]:
        log.setdefault(r["gateway_id"], []).append((float(r["at"]), str(r["status"])))
    n = tx.query(
        "SELECT COUNT(*) AS n FROM checkins WHERE site_id = ? AND occurred_at >= ?", (site_id, day_start_rfc3339)
    )
    return Evidence(start, uptime, links, log, int(n[0]["n"]))
