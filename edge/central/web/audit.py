"""The audit log: every staff action that changes data or opens a gate, with who, what, when and from where.
Written in the same database as the data, so an excuse and its audit row are one commit."""

from __future__ import annotations

import json
import time
from typing import Any

from edge.central import catalogs
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


def action_words(lang: str, action: str) -> str:
    """An action in words ("roster.apply" → "Cập nhật danh sách học sinh"): audit.action.<id> in the catalogs, dots
    as underscores; an action without an entry (a newer module's) as its identifier."""
    key = f"audit.action.{action.replace('.', '_')}"
    words = catalogs.text(lang, key)
    return action if words == key else words


def field_words(lang: str, name: str) -> str:
    """A detail's field name in words (audit.field.<name>); an unknown one as it is."""
    key = f"audit.field.{name}"
    words = catalogs.text(lang, key)
    return name if words == key else words


def shown(lang: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the Admin page shows them: the action and the detail's field names in `lang`; the identifiers
    stay in `action` (what a search of the log greps for) and the values as recorded."""
    return [
        {
            **r,
            "what": action_words(lang, r["action"]),
            "fields": [(field_words(lang, k), _value(v)) for k, v in r["detail"].items()],
        }
        for r in rows
    ]


def _value(v: Any) -> str:
    """A recorded value for reading: a yes/no as ✓/✗, a list as its items, anything else as recorded."""
    if isinstance(v, bool):
        return "✓" if v else "✗"
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    if v is None:
        return "—"
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
