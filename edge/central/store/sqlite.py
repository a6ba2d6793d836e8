"""The embedded store: one SQLite file in WAL mode (edge.sqlite.open_db: 0600, synchronous=FULL).

One writer at a time is SQLite's model; a batch is one transaction, so the fsync is paid once per batch and not
once per event. Several collector processes may share the file (they queue on its write lock) but do not go
faster: for more than one writer, use PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from edge.central.store import migrate
from edge.central.store.base import (
    ROW_COLUMNS,
    CheckinStore,
    OnStored,
    Order,
    Outcome,
    Reject,
    checkin_row,
    reject_row,
    split_batch_duplicates,
)
from edge.security.private_files import tighten_sqlite, touch_private
from edge.sqlite import open_db

_INSERT = (
    f"INSERT INTO checkins ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' for _ in ROW_COLUMNS)}) "
    "ON CONFLICT (event_id) DO NOTHING"
)
_REJECT = "INSERT INTO rejected (received_at, topic, reason, payload, event_id) VALUES (?, ?, ?, ?, ?)"


class _SqliteTx:
    engine = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.raw.execute(sql, tuple(params)).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.raw.executemany(sql, rows)


class SqliteStore(CheckinStore):
    engine = "sqlite"

    def __init__(self, path: str | Path, *, url: str | None = None, auto_migrate: bool = True) -> None:
        self.path = Path(path)
        self.url = url or f"sqlite:///{self.path}"
        self._conn, _ = open_db(self.path)
        self._lock = threading.Lock()
        if auto_migrate:
            self.migrate()

    def migrate(self) -> list[str]:
        with self._lock:
            return migrate.migrate_sqlite(self._conn)

    def schema_version(self) -> int:
        with self._lock:
            return migrate.sqlite_version(self._conn)

    def store_batch(
        self,
        checkins: Sequence[dict[str, Any]],
        rejects: Sequence[Reject] = (),
        on_stored: OnStored | None = None,
    ) -> list[Outcome]:
        now = time.time()
        outcomes: list[Outcome] = ["duplicate"] * len(checkins)
        firsts, _ = split_batch_duplicates(checkins)
        stored: list[dict[str, Any]] = []
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Under BEGIN IMMEDIATE nobody else writes: the ids not found now are new, and one executemany
                # (a loop in C) inserts them all.
                existing = self._existing(conn, [checkins[i]["event_id"] for i in firsts])
                new = [i for i in firsts if checkins[i]["event_id"] not in existing]
                conn.executemany(_INSERT, [checkin_row(checkins[i], now) for i in new])
                for i in new:
                    outcomes[i] = "stored"
                    stored.append(checkins[i])
                if rejects:
                    conn.executemany(_REJECT, [reject_row(r, now) for r in rejects])
                if on_stored is not None and stored:
                    on_stored(_SqliteTx(conn), stored)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return outcomes

    @staticmethod
    def _existing(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = f"SELECT event_id FROM checkins WHERE event_id IN ({', '.join('?' for _ in chunk)})"
            found.update(r[0] for r in conn.execute(sql, chunk))
        return found

    def count(self, table: Literal["checkins", "rejected"] = "checkins") -> int:
        if table not in ("checkins", "rejected"):
            raise ValueError(table)
        with self._lock:
            return int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def checkins(
        self, since: str | None = None, until: str | None = None, order: Order = "time"
    ) -> Iterator[dict[str, Any]]:
        by = "occurred_at, gateway_id, seq" if order == "time" else "gateway_id, seq"
        sql = (
            "SELECT * FROM checkins WHERE (? IS NULL OR occurred_at >= ?) AND (? IS NULL OR occurred_at < ?) "
            f"ORDER BY {by}"
        )
        with self._lock:
            cur = self._conn.execute(sql, (since, since, until, until))
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        yield from rows

    def rejects(self) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute("SELECT * FROM rejected ORDER BY id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def delete_before(self, cutoff: str, site_id: str | None = None) -> int:
        from edge.central.store.retention import cutoff_epoch

        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                n = self._conn.execute(
                    "DELETE FROM checkins WHERE occurred_at < ? AND (? IS NULL OR site_id = ?)",
                    (cutoff, site_id, site_id),
                ).rowcount
                if site_id is None:
                    self._conn.execute("DELETE FROM rejected WHERE received_at < ?", (cutoff_epoch(cutoff),))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return int(n)

    def backup(self, dest: Path) -> None:
        """SQLite's online backup API, page by page: consistent even while a collector writes (a write during the
        copy restarts it from the source's new state, which sqlite3's backup() handles)."""
        touch_private(dest)
        target = sqlite3.connect(str(dest))
        try:
            with self._lock:
                self._conn.backup(target)
        finally:
            target.close()
        tighten_sqlite(dest)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
