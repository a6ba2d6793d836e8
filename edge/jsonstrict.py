"""Strict JSON for whatever another machine sent: an object that repeats a key is refused, not resolved.

Why: JSON (RFC 8259) leaves a repeated key's meaning to the reader, and Python's json keeps the last one. A
check-in `{"decision": "denied", …, "decision": "granted"}` was stored as granted (issue #21), while any reader
that keeps the first one — a log line, an auditor's tool, the gateway's own outbox viewer — would show it
denied. Refusing the message is the only reading every party agrees on. Every parser of untrusted JSON calls
`loads` here (check-ins, receipts, commands and their results, distribution manifests and gallery metadata,
health / status / device reports, the notifier's webhook receiver); files this system wrote itself do not
need it.

Cost, measured on the collector's hot path (`edge bench collector --events 20000 --gateways 20 --compare-json`,
both parsers in one run, this machine): see JSON_COST below.
"""

from __future__ import annotations

import json
from typing import Any

JSON_COST = "json.loads 2.9 µs, strict 3.9 µs per 500-byte check-in; collector throughput unchanged within noise"


class RepeatedKey(ValueError):
    """A JSON object names the same key twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"JSON object repeats the key {key[:60]!r}")
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKey(key)
            seen.add(key)
    return obj


def loads(data: str | bytes | bytearray) -> Any:
    """json.loads, but RepeatedKey (a ValueError) when any object repeats a key. Other errors as json.loads:
    json.JSONDecodeError (a ValueError), UnicodeDecodeError for bytes that are not UTF-8, RecursionError."""
    return json.loads(data, object_pairs_hook=_unique)
