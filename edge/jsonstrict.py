"""Strict JSON for whatever another machine sent: an object that repeats a key is refused, not resolved.

Why: JSON (RFC 8259) leaves a repeated key's meaning to the reader, and Python's json keeps the last one. A
check-in `{"decision": "denied", …, "decision": "granted"}` was stored as granted (issue #21), while any reader
that keeps the first one — a log line, an auditor's tool, the gateway's own outbox viewer — would show it
denied. Refusing the message is the only reading every party agrees on. Every parser of untrusted JSON calls
`loads` here (check-ins, receipts, commands and their results, distribution manifests and gallery metadata,
health / status / device reports, the notifier's webhook receiver); files this system wrote itself do not
need it.

Cost, measured on this 2-core machine while other work ran (load 5-6), both sides in one run each:
- per check-in (264 bytes, timeit, same process): json.loads 5.3 µs, loads here 11.6 µs (+6 µs: the pairs hook
  is a Python call per object);
- `edge bench collector --events 5000 --gateways 10`, run in one shell command on the tree before this module
  and then on the tree with it (`for t in BEFORE AFTER; do (cd $t && PYTHONPATH=$t python -m edge bench …);
  done`): collector CPU 86 → 92 µs per check-in, 0 lost, 0 duplicated;
  stored/s 2,599 → 3,095 (noise: the broker and publishers share the two cores). About 7% of the collector's
  CPU per check-in, for a refusal no other check can make.
"""

from __future__ import annotations

import json
from typing import Any


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
