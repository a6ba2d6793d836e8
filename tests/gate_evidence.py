"""Planting the gates' health evidence (what a collector's witness writes) in a store, for tests that drive the
notifier's absence pass with a pinned clock: `vouch` says the collector and the gateways were fine over a span."""

from __future__ import annotations

from typing import Any

from edge.central.gates.evidence import LinkObservation, record_link, record_uptime
from edge.central.notify import jobs as q
from edge.central.school.edits import register_gateway
from edge.central.web.db import WebTx


def vouch(
    conn: Any, dialect: q.Dialect, site: str, gateways: list[str], since: float, until: float, *,
    collector: str = "col-test", register: bool = True,
) -> None:  # fmt: skip
    """The collector connected and every gateway online, heard from and with an empty outbox from `since` to
    `until` (the gateways registered first unless register=False)."""
    tx = WebTx(conn, dialect)
    with q.transaction(conn, dialect):
        record_uptime(tx, collector, since, until)
        for gw in gateways:
            if register:
                register_gateway(tx, site, gw)
            obs = LinkObservation(site, gw, "online", since, until, until, 0, None, transitions=[(since, "online")])
            record_link(tx, obs)
