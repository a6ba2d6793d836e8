"""The versioned check-in schema (edge/events/schemas/checkin.v1.json) and the events we build."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from edge.events.checkin import CheckIn, checkin_errors, new_event_id, rfc3339_ms

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
        distance=0.41234567,
    ).to_dict()
    assert checkin_errors(face) == []
    assert face["distance"] == 0.4123
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
        (lambda e: e.update(schema_version=2), "schema_version: 1 was expected"),
        (lambda e: e.update(image="base64..."), "Additional properties are not allowed ('image'"),
        (lambda e: e.pop("card_uid"), "'card_uid' is a required property"),
        (lambda e: e.update(person_id=None), "person_id: None is not of type 'string'"),
        (lambda e: e.update(decision="denied"), "person_id: 'p1' is not of type 'null'"),
        (lambda e: e.update(distance=0.4), "method: 'card' is not one of ['face', 'card+face']"),
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
