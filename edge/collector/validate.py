"""Checks a received MQTT message before it is stored. Every rejection carries a reason a person can read."""

from __future__ import annotations

import json
from typing import Any

from edge.events.checkin import checkin_errors
from edge.topics import parse_checkin_topic

MAX_PAYLOAD_BYTES = 16 * 1024


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def parse_checkin(topic: str, payload: bytes, prefix: str) -> dict[str, Any]:
    """The check-in in `payload`, or Rejected(reason)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected(f"payload too large ({len(payload)} bytes > {MAX_PAYLOAD_BYTES})")
    ids = parse_checkin_topic(topic, prefix)
    if ids is None:
        raise Rejected(f"not a check-in topic: {topic}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise Rejected("payload is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise Rejected(f"payload is not JSON: {exc.msg} at char {exc.pos}") from None
    if not isinstance(data, dict):
        raise Rejected(f"payload is a JSON {type(data).__name__}, not an object")
    if data.get("schema_version") != 1:
        raise Rejected(f"unsupported schema_version {data.get('schema_version')!r} (this collector reads 1)")
    errors = checkin_errors(data)
    if errors:
        raise Rejected("schema: " + "; ".join(errors[:5]))
    if (data["site_id"], data["gateway_id"]) != ids:
        raise Rejected(f"topic says {ids[0]}/{ids[1]} but payload says {data['site_id']}/{data['gateway_id']}")
    return data
