"""The collector's SQLite database: check-ins stored once per event_id, rejects kept with their reason."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from edge.sqlite import open_db

CHECKIN_COLUMNS = (
    "event_id",
    "site_id",
    "gateway_id",
    "gate",
    "direction",
    "occurred_at",
    "seq",
    "method",
    "person_id",
    "decision",
    "card_uid",
    "distance",
    "device_id",
    "clock_unsynced",
)


class CheckinStore:
    def __init__(self, path: str | Path) -> None:
        self._conn, self._db = open_db(path)
        self._lock = threading.Lock()
        self._db["checkins"].create(  # type: ignore[union-attr]
            {
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
            },
            pk="event_id",
            if_not_exists=True,
        )
        if "clock_unsynced" not in self._db["checkins"].columns_dict:  # a database made before the column
            self._db["checkins"].add_column("clock_unsynced", int)  # type: ignore[union-attr]
        self._db["checkins"].create_index(["gateway_id", "seq"], if_not_exists=True)  # type: ignore[union-attr]
        self._db["checkins"].create_index(["occurred_at"], if_not_exists=True)  # type: ignore[union-attr]
        self._db["rejected"].create(  # type: ignore[union-attr]
            {"id": int, "received_at": float, "topic": str, "reason": str, "payload": str},
            pk="id",
            if_not_exists=True,
        )

    def insert(self, event: dict[str, Any]) -> Literal["stored", "duplicate"]:
        row = {k: event.get(k) for k in CHECKIN_COLUMNS}
        row["clock_unsynced"] = 1 if event.get("clock_unsynced") else 0  # absent in the payload when synced
        row["received_at"] = time.time()
        row["payload"] = json.dumps(event, separators=(",", ":"), sort_keys=True)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._lock:
            cur = self._conn.execute(f"INSERT OR IGNORE INTO checkins ({cols}) VALUES ({marks})", tuple(row.values()))
        return "stored" if cur.rowcount == 1 else "duplicate"

    def reject(self, topic: str, reason: str, payload: bytes) -> None:
        text = payload[:2048].decode("utf-8", errors="replace")
        with self._lock:
            self._conn.execute(
                "INSERT INTO rejected (received_at, topic, reason, payload) VALUES (?,?,?,?)",
                (time.time(), topic, reason, text),
            )

    def count(self, table: str = "checkins") -> int:
        with self._lock:
            return int(self._conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])

    def checkins(
        self, where: str = "", params: tuple[Any, ...] = (), order: Literal["time", "seq"] = "time"
    ) -> Iterator[dict[str, Any]]:
        """order="seq": each gateway's events in the order it decided them, whatever its clock said."""
        by = "occurred_at, gateway_id, seq" if order == "time" else "gateway_id, seq"
        sql = f"SELECT * FROM checkins {where} ORDER BY {by}"
        with self._lock:
            rows = list(self._db.query(sql, params))
        yield from rows

    def close(self) -> None:
        with self._lock:
            self._conn.close()
