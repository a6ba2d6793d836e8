"""The one interface the centre stores check-ins through, whatever the engine (SQLite or PostgreSQL).

Contract (what every adapter guarantees and what callers may rely on):

* `store_batch(checkins, rejects, on_stored)` is ONE transaction: every check-in row is inserted with
  `ON CONFLICT (event_id) DO NOTHING`, every reject gets its dead-letter row, and `on_stored(tx, stored)` runs
  inside that same transaction with the events that were new (not duplicates). Either all of it commits or none
  of it does; the call returns only after the commit (the collector acknowledges and answers after it).
* The outcome list is in the order of `checkins`: "stored" for a new event_id, "duplicate" for one already in the
  table or earlier in the same batch.
* Hook for other features (notification jobs, #9): write rows in `on_stored` through `tx.execute(sql, params)` /
  `tx.executemany(sql, rows)`; SQL uses `?` placeholders on both engines (the PostgreSQL adapter translates them,
  so no literal `?` in the SQL), `tx.engine` says which one it is, `tx.raw` is the driver connection. An
  exception raised by the hook rolls the whole batch back and propagates (the collector then stops without
  acknowledging: nothing is lost). Tables for the hook come from a numbered migration in
  edge/central/store/migrations/ (NNNN_name.sqlite.sql + NNNN_name.postgresql.sql, see migrate.py).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

Outcome = Literal["stored", "duplicate"]
Order = Literal["time", "seq"]

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
    "similarity",
    "device_id",
    "clock_unsynced",
)
ROW_COLUMNS = (*CHECKIN_COLUMNS, "received_at", "payload")
"""Every column of a stored check-in, in the order the adapters insert them."""

REJECT_PAYLOAD_CHARS = 16 * 1024
"""A dead letter keeps this much of its payload: the collector's own size limit (collector/limits.py), so every
payload the collector could have accepted is kept whole and can be replayed (edge/central/collector/dead_letters.py);
it was 2 KiB, enough to read a reason, not always to store the event later."""


class Tx(Protocol):
    """The open transaction handed to `on_stored` hooks."""

    engine: str
    raw: Any

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (`?` placeholders); returns the row count."""

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


OnStored = Callable[[Tx, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class Reject:
    """A dead letter: the message as received (first 16 KiB), why it was refused, and the event_id it carried
    (None when it had no valid one)."""

    topic: str
    reason: str
    payload: bytes
    event_id: str | None = None


class Received(dict[str, Any]):
    """A validated check-in that keeps the JSON text it arrived in (`raw`): stored as the row's payload as it is,
    instead of serialised again (json.dumps was a twentieth of the collector's CPU at full rate). Only for text
    that is one line (an `edge export --format jsonl` line) and was validated as this very object. (A payload
    that repeats a key never gets here: edge/jsonstrict.py refuses it, so the raw text and the columns agree.)"""

    __slots__ = ("raw",)

    def __init__(self, data: dict[str, Any], raw: str) -> None:
        super().__init__(data)
        self.raw = raw


_UNSYNCED = CHECKIN_COLUMNS.index("clock_unsynced")


def checkin_row(event: dict[str, Any], received_at: float | None = None) -> tuple[Any, ...]:
    """The row for a validated check-in, in ROW_COLUMNS order."""
    values = [event.get(k) for k in CHECKIN_COLUMNS]
    values[_UNSYNCED] = 1 if values[_UNSYNCED] else 0
    raw = getattr(event, "raw", None)
    payload = raw if raw is not None else json.dumps(event, separators=(",", ":"), sort_keys=True)
    return (*values, time.time() if received_at is None else received_at, payload)


def storable_text(text: str) -> str:
    """`text` as both engines store it: no NUL (PostgreSQL refuses it), no lone surrogate (no driver encodes it).
    A dead letter must always be writable, whatever the message held."""
    return text.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\ufffd")


def reject_row(r: Reject, received_at: float | None = None) -> tuple[Any, ...]:
    text = storable_text(r.payload[:REJECT_PAYLOAD_CHARS].decode("utf-8", errors="replace"))
    when = time.time() if received_at is None else received_at
    return (when, storable_text(r.topic), storable_text(r.reason), text, r.event_id)


def split_batch_duplicates(events: Sequence[dict[str, Any]]) -> tuple[list[int], set[int]]:
    """Indexes of the first occurrence of each event_id, and the indexes repeating one earlier in the batch."""
    seen: set[str] = set()
    firsts: list[int] = []
    repeats: set[int] = set()
    for i, e in enumerate(events):
        eid = e["event_id"]
        if eid in seen:
            repeats.add(i)
        else:
            seen.add(eid)
            firsts.append(i)
    return firsts, repeats


class CheckinStore(ABC):
    """See the module docstring for the contract. Thread-safe: the collector's writer and readers may share one."""

    engine: str
    url: str

    @abstractmethod
    def store_batch(
        self,
        checkins: Sequence[dict[str, Any]],
        rejects: Sequence[Reject] = (),
        on_stored: OnStored | None = None,
    ) -> list[Outcome]: ...

    def insert(self, event: dict[str, Any]) -> Outcome:
        return self.store_batch([event])[0]

    def reject(self, topic: str, reason: str, payload: bytes, event_id: str | None = None) -> None:
        self.store_batch([], [Reject(topic, reason, payload, event_id)])

    @abstractmethod
    def count(self, table: Literal["checkins", "rejected"] = "checkins") -> int: ...

    @abstractmethod
    def checkins(
        self, since: str | None = None, until: str | None = None, order: Order = "time"
    ) -> Iterator[dict[str, Any]]:
        """Stored check-ins with since <= occurred_at < until (RFC 3339 UTC strings), oldest first;
        order="seq": each gateway's events in the order it decided them, whatever its clock said."""

    @abstractmethod
    def rejects(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def delete_before(self, cutoff: str, site_id: str | None = None) -> int:
        """Delete check-ins (and dead letters) that occurred before `cutoff` (RFC 3339 UTC); returns how many
        check-ins went."""

    @abstractmethod
    def backup(self, dest: Path) -> None:
        """A consistent copy while writers keep writing (SQLite: the online backup API)."""

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending numbered migrations; returns the names applied."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...
