"""The versioned check-in schema (edge/contract/schemas/checkin.v2.json; v1 still valid) and the events we build."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from edge.contract.checkin import CheckIn, checkin_errors, new_event_id, rfc3339_ms

VALID: dict[str, Any] = CheckIn(
    event_id=new_event_id(),
    site_id="s1",
    gateway_id="gw-1",
    gate="main",
    direction="in",
    occurred_at="2026-11-24T07:45:12.345Z",
    seq=1,
    method="card",
    person_id="p1",
    decision="granted",
    card_uid="0F00A1B2C3",
    device_id="r1",
).to_dict()


def test_built_events_are_valid() -> None:
    assert checkin_errors(VALID) == []
    face = CheckIn(
        new_event_id(),
        "s1",
        "gw-1",
        "main",
        "out",
        rfc3339_ms(),
        7,
        "face",
        "p1",
        "granted",
        similarity=0.61234567,
    ).to_dict()
    assert checkin_errors(face) == []
    assert face["similarity"] == 0.6123 and face["schema_version"] == 2 and "distance" not in face
    dlib = CheckIn(new_event_id(), "s1", "gw-1", "main", "out", rfc3339_ms(), 9, "face", "p1", "granted", distance=0.4)
    assert checkin_errors(dlib.to_dict()) == [] and dlib.to_dict()["distance"] == 0.4
    unknown = CheckIn(new_event_id(), "s1", "gw-1", "main", "in", rfc3339_ms(), 8, "face", None, "unknown")
    assert checkin_errors(unknown.to_dict()) == []


def test_timestamp_format() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rfc3339_ms())


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (lambda e: e.pop("event_id"), "'event_id' is a required property"),
        (lambda e: e.pop("seq"), "'seq' is a required property"),
        (lambda e: e.update(seq="1"), "seq: '1' is not of type 'integer'"),
        (lambda e: e.update(seq=0), "seq: 0 is less than the minimum of 1"),
        (lambda e: e.update(direction="up"), "direction: 'up' is not one of"),
        (
            lambda e: e.update(occurred_at="2026-11-24 07:45:12"),
            "occurred_at: '2026-11-24 07:45:12' does not match",
        ),
        (lambda e: e.update(schema_version=3), "schema_version: 2 was expected"),
        (lambda e: e.update(image="base64..."), "Additional properties are not allowed ('image'"),
        (lambda e: e.pop("card_uid"), "'card_uid' is a required property"),
        (lambda e: e.update(person_id=None), "person_id: None is not of type 'string'"),
        (lambda e: e.update(decision="denied"), "person_id: 'p1' is not of type 'null'"),
        (lambda e: e.update(distance=0.4), "method: 'card' is not one of ['face', 'card+face']"),
        (lambda e: e.update(similarity=0.6), "method: 'card' is not one of ['face', 'card+face']"),
        (lambda e: e.update(similarity=1.2), "similarity: 1.2 is greater than the maximum of 1"),
        (lambda e: e.update(event_id="not-a-uuid"), "event_id: 'not-a-uuid' does not match"),
    ],
)
def test_schema_rejects(change: Any, expect: str) -> None:
    event = copy.deepcopy(VALID)
    change(event)
    errors = checkin_errors(event)
    assert any(expect in e for e in errors), errors


def test_event_ids_are_unique() -> None:
    assert len({new_event_id() for _ in range(1000)}) == 1000


def test_version_1_events_stay_valid_during_the_migration() -> None:
    """Gateways not yet upgraded send v1, where the face score was called `distance` for every model."""
    v1 = VALID | {"schema_version": 1}
    assert checkin_errors(v1) == []
    face_v1 = {k: v for k, v in v1.items() if k != "card_uid"} | {"method": "face", "distance": 0.98}
    assert checkin_errors(face_v1) == []
    assert any(
        "Additional properties are not allowed ('similarity'" in e for e in checkin_errors(v1 | {"similarity": 0.5})
    )
