"""The check-in event: building it, serialising it, validating it against schemas/checkin.v1.json."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema

SCHEMA_VERSION = 1
Method = Literal["card", "face", "card+face"]
Decision = Literal["granted", "denied", "unknown"]


def rfc3339_ms(ts: datetime | None = None) -> str:
    """UTC time as RFC 3339 with milliseconds: 2026-11-24T07:45:12.345Z."""
    t = (ts or datetime.now(UTC)).astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def new_event_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class CheckIn:
    event_id: str
    site_id: str
    gateway_id: str
    gate: str
    direction: Literal["in", "out"]
    occurred_at: str
    seq: int
    method: Method
    person_id: str | None
    decision: Decision
    card_uid: str | None = None
    distance: float | None = None
    device_id: str | None = None
    clock_unsynced: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "event_id": self.event_id,
            "site_id": self.site_id,
            "gateway_id": self.gateway_id,
            "gate": self.gate,
            "direction": self.direction,
            "occurred_at": self.occurred_at,
            "seq": self.seq,
            "method": self.method,
            "person_id": self.person_id,
            "decision": self.decision,
        }
        if self.card_uid is not None:
            d["card_uid"] = self.card_uid
        if self.distance is not None:
            d["distance"] = round(float(self.distance), 4)
        if self.device_id is not None:
            d["device_id"] = self.device_id
        if self.clock_unsynced:
            d["clock_unsynced"] = True
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)


@cache
def checkin_schema() -> dict[str, Any]:
    text = resources.files("edge.events").joinpath("schemas/checkin.v1.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = checkin_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def checkin_errors(payload: Any) -> list[str]:
    """Every way `payload` breaks the check-in schema, as readable strings (empty when valid)."""
    errors = sorted(_validator().iter_errors(payload), key=lambda e: list(e.absolute_path))
    out = []
    for e in errors:
        where = ".".join(str(p) for p in e.absolute_path)
        out.append(f"{where}: {e.message}" if where else e.message)
    return out
