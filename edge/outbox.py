"""The gateway's durable outbox: every event is committed here before it is published.

One SQLite file (WAL, synchronous=FULL: a committed event survives a power cut). The per-gateway `seq` counter
lives in the same file and is advanced in the same transaction as the insert, so a sequence number is never
reused, even after the rows it numbered have been acknowledged and deleted. A row is deleted only when the
collector's receipt for it arrives (or, with receipts off, the broker's PUBACK).

Why synchronous=FULL in WAL mode: with NORMAL, a transaction committed just before a power cut can be rolled
back on reboot (the WAL is synced only at checkpoints); the gate would have opened for a check-in the school
never learns about. FULL syncs the WAL on every commit: ~1-3 ms per check-in on an SD card, far below a
gate's rate. A kill -9 loses nothing in either mode (the OS keeps the written pages).

Cap: `max_events` / `max_bytes` raise an alarm (`over_cap`) when reached, they never drop a check-in: the
outbox holds only check-ins, and a check-in is worth more than the disk it takes. Check-ins are lost only when
the disk itself is full; each such loss raises OutboxWriteError for the caller to count and report.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.sqlite import open_db


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    event_id: str
    topic: str
    payload: str
    created_at: float
    attempts: int


EventBuilder = Callable[[int], tuple[str, str, str]]
"""Given the allocated seq, returns (topic, event_id, payload)."""


class OutboxWriteError(Exception):
    """An event could not be committed (disk full, I/O error): it is not in the outbox."""


class Outbox:
    def __init__(self, path: str | Path, *, max_events: int = 1_000_000, max_bytes: int = 1 << 30) -> None:
        self.path = str(path)
        self._conn, self._db = open_db(path)
        self._lock = threading.Lock()
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.write_errors = 0
        self._db["meta"].create({"key": str, "value": int}, pk="key", if_not_exists=True)  # type: ignore[union-attr]
        self._db["outbox"].create(  # type: ignore[union-attr]
            {"seq": int, "event_id": str, "topic": str, "payload": str, "created_at": float, "attempts": int},
            pk="seq",
            not_null={"event_id", "topic", "payload", "created_at"},
            defaults={"attempts": 0},
            if_not_exists=True,
        )
        self._db["outbox"].create_index(["event_id"], unique=True, if_not_exists=True)  # type: ignore[union-attr]
        row = self._conn.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM outbox").fetchone()
        self._count, self._bytes = int(row[0]), int(row[1])

    def append(self, build: EventBuilder) -> int:
        """Allocate the next seq, build the event with it and commit both at once. Returns the seq.
        Raises OutboxWriteError when SQLite cannot commit (disk full, I/O error)."""
        with self._lock:
            try:
                return self._append(build)
            except sqlite3.Error as exc:
                self.write_errors += 1
                raise OutboxWriteError(f"outbox {self.path}: {exc}") from exc

    def _append(self, build: EventBuilder) -> int:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
            seq = (row[0] if row else 0) + 1
            topic, event_id, payload = build(seq)
            self._conn.execute(
                "INSERT INTO outbox (seq, event_id, topic, payload, created_at, attempts) VALUES (?,?,?,?,?,0)",
                (seq, event_id, topic, payload, time.time()),
            )
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES ('last_seq', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (seq,),
            )
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._count += 1
        self._bytes += len(payload.encode())
        return seq

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[OutboxRow]:
        """Unacknowledged events with seq > after_seq, lowest seq first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, event_id, topic, payload, created_at, attempts FROM outbox "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def mark_attempt(self, seq: int) -> None:
        with self._lock:
            self._conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (seq,))

    def ack(self, seq: int, event_id: str | None = None) -> bool:
        """The event is safe downstream: remove it (only if it still carries `event_id`, when given).
        False when it was already gone."""
        with self._lock:
            if event_id is None:
                cur = self._conn.execute("DELETE FROM outbox WHERE seq = ? RETURNING length(payload)", (seq,))
            else:
                cur = self._conn.execute(
                    "DELETE FROM outbox WHERE seq = ? AND event_id = ? RETURNING length(payload)", (seq, event_id)
                )
            gone = cur.fetchall()
            for (size,) in gone:
                self._count -= 1
                self._bytes -= int(size)
        return bool(gone)

    def contains(self, seq: int) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM outbox WHERE seq = ?", (seq,)).fetchone() is not None

    @property
    def over_cap(self) -> bool:
        return self._count >= self.max_events or self._bytes >= self.max_bytes

    @property
    def size_bytes(self) -> int:
        """Payload bytes held (the database file is larger by its pages and indexes)."""
        return self._bytes

    def depth(self) -> int:
        """Events held: the counter kept with every append and ack (read once from the table at open)."""
        return self._count

    def oldest_age_s(self) -> float | None:
        with self._lock:
            row = self._conn.execute("SELECT min(created_at) FROM outbox").fetchone()
        return None if row[0] is None else max(0.0, time.time() - row[0])

    def last_seq(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
