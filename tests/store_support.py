"""Shared by the store tests: a valid check-in event, and a database as the collector made it before migrations."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from edge.contract.checkin import CheckIn, new_event_id


def event(seq: int, occurred_at: str = "2026-11-24T07:45:00.000Z", site: str = "s1", **over: Any) -> dict[str, Any]:
    e = CheckIn(new_event_id(), site, "gw-1", "main", "in", occurred_at, seq, "card", "p1", "granted").to_dict()
    e.update(over)
    return e


OLD_COLUMNS = {
    "event_id": str,
    "site_id": str,
    "gateway_id": str,
    "gate": str,
    "direction": str,
    "occurred_at": str,
    "seq": int,
    "method": str,
    "person_id": str,
    "decision": str,
    "card_uid": str,
    "distance": float,
    "device_id": str,
    "clock_unsynced": int,
    "received_at": float,
    "payload": str,
}


def make_legacy_db(path: Path, n: int, *, with_clock_column: bool = True) -> list[str]:
    """The schema and rows of the collector before migrations (edge/collector/store.py at 74b4619)."""
    db = sqlite_utils.Database(sqlite3.connect(path))
    cols = dict(OLD_COLUMNS)
    if not with_clock_column:
        del cols["clock_unsynced"]
    db["checkins"].create(cols, pk="event_id")  # type: ignore[union-attr]
    db["checkins"].create_index(["gateway_id", "seq"])  # type: ignore[union-attr]
    db["checkins"].create_index(["occurred_at"])  # type: ignore[union-attr]
    db["rejected"].create(  # type: ignore[union-attr]
        {"id": int, "received_at": float, "topic": str, "reason": str, "payload": str}, pk="id"
    )
    ids = []
    for i in range(n):
        e = CheckIn(new_event_id(), "s1", "gw-1", "main", "in", f"2026-11-2{i % 3}T07:00:00.000Z", i, "card", "p1",
                    "granted").to_dict()  # fmt: skip
        row = {k: e.get(k) for k in cols if k not in ("received_at", "payload")}
        row["received_at"] = 1.0
        row["payload"] = json.dumps(e)
        db["checkins"].insert(row)  # type: ignore[union-attr]
        ids.append(e["event_id"])
    db["rejected"].insert({"received_at": 1.0, "topic": "t", "reason": "not JSON", "payload": "{x"})  # type: ignore[union-attr]
    db.conn.commit()
    db.conn.close()
    return ids
