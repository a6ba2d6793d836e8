"""The audit log: every staff action that changes data or opens a gate, with who, what, when and from where.
Written in the same database as the data, so an excuse and its audit row are one commit."""

from __future__ import annotations

import json
import time
from typing import Any

from edge.central.web.db import WebDb, WebTx


def record(
    target: WebDb | WebTx,
    username: str | None,
    action: str,
    detail: dict[str, Any],
    ip: str | None,
    site_id: str | None = None,
    at: float | None = None,
) -> None:
    sql = "INSERT INTO web_audit (at, username, action, site_id, detail, ip) VALUES (?, ?, ?, ?, ?, ?)"
    params = (
        time.time() if at is None else at,
        username,
        action,
        site_id,
        json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
        ip,
    )
    target.execute(sql, params)


def recent(db: WebDb, limit: int = 100, action: str | None = None, site_id: str | None = None) -> list[dict[str, Any]]:
    """The newest rows first; with site_id only that school's rows (what a school's admin may read: another
    school's excuse reasons, staff and addresses are not theirs)."""
    sql = "SELECT at, username, action, site_id, detail, ip FROM web_audit"
    where, params = [], []
    if action is not None:
        where.append("action = ?")
        params.append(action)
    if site_id is not None:
        where.append("site_id = ?")
        params.append(site_id)
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = db.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows
