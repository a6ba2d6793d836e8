"""The check-in event: building it, serialising it, validating it against its schema version.

Gateways write version 2 (schemas/checkin.v2.json): the face score is `similarity` for SFace (a cosine, higher is
closer) and `distance` for dlib (lower is closer); version 1 called both `distance` and stays accepted while
gateways are upgraded (SUPPORTED_VERSIONS; a v1 `distance` is stored as the distance it was)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema

SCHEMA_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
"""What the collector accepts: v1 from gateways not yet upgraded, v2 from the others."""
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
    """dlib's Euclidean distance (lower is closer)."""
    device_id: str | None = None
    clock_unsynced: bool = False
    similarity: float | None = None
    """SFace's cosine similarity (higher is closer); edge.recognition.scores says which model gives which."""

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
        if self.similarity is not None:
            d["similarity"] = round(float(self.similarity), 4)
        if self.device_id is not None:
            d["device_id"] = self.device_id
        if self.clock_unsynced:
            d["clock_unsynced"] = True
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)


@cache
def checkin_schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """The JSON schema of one check-in version (ValueError for a version this code does not know)."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"no check-in schema version {version!r} (known: {SUPPORTED_VERSIONS})")
    text = resources.files("edge.contract").joinpath(f"schemas/checkin.v{version}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(version: int = SCHEMA_VERSION) -> jsonschema.protocols.Validator:
    schema = checkin_schema(version)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def checkin_errors(payload: Any) -> list[str]:
    """Every way `payload` breaks the check-in schema of the version it states (v1 or v2; an unknown version
    is checked against the current one, whose `schema_version` then fails), as readable strings (empty when
    valid)."""
    stated = payload.get("schema_version") if isinstance(payload, dict) else None
    version = stated if stated in SUPPORTED_VERSIONS and type(stated) is int else SCHEMA_VERSION
    errors = sorted(_validator(version).iter_errors(payload), key=lambda e: list(e.absolute_path))
    out = []
    for e in errors:
        where = ".".join(str(p) for p in e.absolute_path)
        out.append(f"{where}: {e.message}" if where else e.message)
    return out
