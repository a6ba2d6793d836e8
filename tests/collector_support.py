"""Shared by the collector tests: a gateway's check-in topic and a valid check-in event to publish on it."""

from __future__ import annotations

from typing import Any

from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms

TOPIC = "edge/v1/test-school/gw-1/checkin"


def event(seq: int, **over: Any) -> dict[str, Any]:
    e = CheckIn(
        new_event_id(),
        "test-school",
        "gw-1",
        "main",
        "in",
        rfc3339_ms(),
        seq,
        "card",
        "p1",
        "granted",
        card_uid="0F00A1B2C3",
    ).to_dict()
    e.update(over)
    return e
