"""Dead letters (the `rejected` table the collector writes): list them, read one, replay them.

Why replay: a check-in can be refused for a reason that later stops being true — the tap of a gateway that was
not yet in the registry ("unknown gateway", #20), a gateway whose certificate was re-issued. The gateway was told
"rejected" and deleted its copy, so the dead letter is the only one left; without a replay that pupil stays
"absent" for the day.

What a replay does: the stored payload is validated again exactly as the collector validates a message
(validate.parse_checkin) and its gateway checked against the CURRENT registry of the store (the `gateways` table,
edge/central/school); then it goes through the same `store_batch` as a live batch, with the same on_stored hook
(the parents' notices), in one transaction. Exactly once: the check-in's event_id is its primary key, so a replay
of a dead letter whose event is already stored (replayed before, or re-sent by the gateway and accepted) stores
nothing and says so — no notice is queued twice, and nothing is sent to the gateway (it has no copy to confirm).

Whether a dead letter is resolved is not a second flag kept beside the data: it is whether the `checkins` table
holds its event_id (one source of truth). Who replayed what, when and with which outcome is in the audit log."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from edge.central.collector.validate import Rejected, parse_checkin
from edge.central.store import CheckinStore, OnStored
from edge.central.web import audit
from edge.central.web.db import WebDb
from edge.contract.topics import DEFAULT_PREFIX

Outcome = Literal["stored", "already_stored", "refused", "not_found"]


@dataclass(frozen=True)
class DeadLetter:
    id: int
    received_at: float
    topic: str
    reason: str
    payload: str
    event_id: str | None
    stored_at: float | None
    """When the check-in with this event_id was stored (by a replay, or re-sent by its gateway); None: pending."""
    site_id: str | None
    gateway_id: str | None

    @property
    def pending(self) -> bool:
        return self.stored_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at,
            "site_id": self.site_id,
            "gateway_id": self.gateway_id,
            "topic": self.topic,
            "reason": self.reason,
            "event_id": self.event_id,
            "state": "pending" if self.pending else "stored",
            "stored_at": self.stored_at,
        }


@dataclass(frozen=True)
class Replayed:
    id: int
    outcome: Outcome
    detail: str
    event_id: str | None = None


def _ids(topic: str, prefix: str) -> tuple[str | None, str | None]:
    """(site, gateway) the topic names, or Nones for a topic outside the layout."""
    if not topic.startswith(prefix + "/"):
        return None, None
    parts = topic[len(prefix) + 1 :].split("/")
    return (parts[0] or None, parts[1] or None) if len(parts) >= 2 else (parts[0] or None, None)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_SELECT = (
    "SELECT r.id, r.received_at, r.topic, r.reason, r.payload, r.event_id, c.received_at AS stored_at "
    "FROM rejected r LEFT JOIN checkins c ON c.event_id = r.event_id"
)


def _row(r: dict[str, Any], prefix: str) -> DeadLetter:
    topic = str(r["topic"] or "")
    site, gateway = _ids(topic, prefix)
    return DeadLetter(
        int(r["id"]),
        float(r["received_at"] or 0.0),
        topic,
        str(r["reason"] or ""),
        str(r["payload"] or ""),
        r["event_id"],
        None if r["stored_at"] is None else float(r["stored_at"]),
        site,
        gateway,
    )


def list_dead_letters(
    db: WebDb,
    *,
    site_id: str | None = None,
    pending_only: bool = False,
    limit: int = 100,
    prefix: str = DEFAULT_PREFIX,
) -> list[DeadLetter]:
    """The newest first; with site_id only that school's (by topic: a dead letter may not parse at all)."""
    where: list[str] = []
    params: list[Any] = []
    if site_id is not None:
        where.append("r.topic LIKE ? ESCAPE '\\'")
        params.append(_like(f"{prefix}/{site_id}/") + "%")
    if pending_only:
        where.append("c.event_id IS NULL")
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY r.id DESC LIMIT ?"
    return [_row(r, prefix) for r in db.query(sql, (*params, limit))]


def get_dead_letter(db: WebDb, dead_letter_id: int, prefix: str = DEFAULT_PREFIX) -> DeadLetter | None:
    rows = db.query(_SELECT + " WHERE r.id = ?", (dead_letter_id,))
    return _row(rows[0], prefix) if rows else None


def registry(db: WebDb) -> set[tuple[str, str]]:
    """The current registry: (site_id, gateway_id) of every active gateway in the store."""
    from edge.central.school.edits import all_active_gateways

    return all_active_gateways(db)


def replay(
    store: CheckinStore,
    db: WebDb,
    ids: Sequence[int],
    *,
    by: str | None,
    ip: str | None = None,
    on_stored: OnStored | None = None,
    site_id: str | None = None,
    prefix: str = DEFAULT_PREFIX,
) -> list[Replayed]:
    """Replay each dead letter of `ids` (see the module docstring); with site_id, only that school's (another
    school's id is "not_found", as if it did not exist). Each attempt is audited."""
    out: list[Replayed] = []
    known = registry(db)
    for dl_id in ids:
        dl = get_dead_letter(db, dl_id, prefix)
        if dl is None or (site_id is not None and dl.site_id != site_id):
            out.append(Replayed(dl_id, "not_found", f"no dead letter {dl_id}"))
            continue
        result = _replay_one(store, dl, known, on_stored, prefix)
        out.append(result)
        detail = {
            "dead_letter": dl.id,
            "event_id": result.event_id,
            "gateway": dl.gateway_id,
            "outcome": result.outcome,
            "detail": result.detail,
        }
        audit.record(db, by, "dead_letter_replay", detail, ip, dl.site_id, at=time.time())
    return out


def _replay_one(
    store: CheckinStore, dl: DeadLetter, known: set[tuple[str, str]], on_stored: OnStored | None, prefix: str
) -> Replayed:
    if not dl.pending:
        return Replayed(dl.id, "already_stored", f"event {dl.event_id} is already stored", dl.event_id)
    try:
        event = parse_checkin(dl.topic, dl.payload.encode("utf-8"), prefix)
    except Rejected as exc:
        return Replayed(dl.id, "refused", exc.reason, exc.event_id or dl.event_id)
    origin = (str(event["site_id"]), str(event["gateway_id"]))
    if origin not in known:
        return Replayed(
            dl.id,
            "refused",
            f"unknown gateway: {origin[0]}/{origin[1]} is not in the store's registry of gateways"
            " (provision it: `edge provision gateway … --store …`)",
            str(event["event_id"]),
        )
    [outcome] = store.store_batch([event], on_stored=on_stored)
    eid = str(event["event_id"])
    if outcome == "stored":
        return Replayed(dl.id, "stored", f"event {eid} stored", eid)
    return Replayed(dl.id, "already_stored", f"event {eid} is already stored", eid)


def show(dl: DeadLetter) -> str:
    """A dead letter as a person reads it (the CLI's `show`): the facts, then the payload as JSON when it is."""
    lines = [f"{k}: {v}" for k, v in dl.as_dict().items()]
    try:
        body = json.dumps(json.loads(dl.payload), indent=2, ensure_ascii=False)
    except ValueError:
        body = dl.payload
    return "\n".join([*lines, "payload:", body])
