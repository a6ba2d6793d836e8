"""Checks a received MQTT message before it is stored. Every rejection carries a reason a person can read.

Check-in schema versions 1 and 2 are both accepted while gateways are upgraded (edge.contract.checkin
SUPPORTED_VERSIONS), each checked against its own schema. The schema (edge/contract/schemas/checkin.v*.json, the
ones the gateways validate against) is compiled once by
fastjsonschema into Python code: a check-in is validated in microseconds, not walked by an interpreter per
event — without its conditional rules, which are plain predicates (conditions.py), the full compiled schema
running only when one of them fails. Limits on size and depth are checked on the bytes first (limits.py)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema

from edge import jsonstrict
from edge.central.collector.conditions import Predicate, Unsupported, compile_conditions
from edge.central.collector.limits import LimitExceeded, check_limits
from edge.central.store.base import Received
from edge.contract.checkin import SUPPORTED_VERSIONS, checkin_schema
from edge.contract.topics import RESERVED_GATEWAY_IDS, parse_checkin_topic

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Rejected(Exception):
    def __init__(self, reason: str, event_id: str | None = None, seq: int | None = None) -> None:
        self.reason = reason
        self.event_id = event_id
        """The payload's event_id when it is a valid UUID: the dead letter is filed under it and the gateway is
        told (receipt "rejected"); None: no receipt at all (a receipt must never name an event it cannot)."""
        self.seq = seq
        super().__init__(reason)


@cache
def _compiled(version: int) -> Callable[[Any], Any]:
    """The whole schema, compiled: the authority, and the source of every schema error message."""
    schema = dict(checkin_schema(version))
    # fastjsonschema speaks draft-07; the schema uses nothing newer than draft-07 (if/then, const, pattern).
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema, formats={"uuid": UUID_RE.pattern})


@cache
def _fast(version: int) -> tuple[Callable[[Any], Any], Predicate] | None:
    """The schema without its conditional rules, compiled, and those rules as predicates (conditions.py); None
    when the schema's rules use something the predicates do not implement."""
    schema = {k: v for k, v in checkin_schema(version).items() if k != "allOf"}
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    try:
        conditions = compile_conditions(checkin_schema(version))
    except Unsupported:
        return None
    return fastjsonschema.compile(schema, formats={"uuid": UUID_RE.pattern}), conditions


def validate_schema(data: Any, version: int = 2) -> None:
    """Raise fastjsonschema's JsonSchemaValueException when `data` is not a check-in of the schema `version`, with
    the full schema's message; a valid check-in is accepted without ever running the full schema's
    exception-driven conditionals (conditions.py says why)."""
    fast = _fast(version)
    if fast is None:
        _compiled(version)(data)
        return
    base, conditions = fast
    try:
        base(data)
    except fastjsonschema.JsonSchemaValueException:
        _compiled(version)(data)  # the full schema fails too, and says it as it always has
        raise
    if not conditions(data):
        _compiled(version)(data)


def _valid_event_id(value: object) -> str | None:
    if isinstance(value, str) and UUID_RE.match(value):
        try:
            uuid.UUID(value)
        except ValueError:
            return None
        return value
    return None


def _valid_seq(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _storable(data: dict[str, Any]) -> bool:
    """Text both engines can store: PostgreSQL refuses NUL in text, and no driver encodes a lone surrogate.
    Only payloads with a \\u escape can hold either (raw control characters are not valid JSON)."""
    try:
        out = json.dumps(data, ensure_ascii=False)
        out.encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return "\\u0000" not in out  # json.dumps writes NUL as \\u0000 even with ensure_ascii=False


def parse_checkin(topic: str, payload: bytes, prefix: str) -> dict[str, Any]:
    """The check-in in `payload`, or Rejected(reason, event_id?)."""
    try:
        check_limits(payload)
    except LimitExceeded as exc:
        raise Rejected(str(exc)) from None
    ids = parse_checkin_topic(topic, prefix)
    if ids is None:
        reserved = ", ".join(sorted(RESERVED_GATEWAY_IDS))
        raise Rejected(f"not a check-in topic (nor may a gateway be called {reserved}): {topic[:200]}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("payload is not UTF-8") from None
    try:
        data = jsonstrict.loads(text)
    except jsonstrict.RepeatedKey as exc:
        raise Rejected(f"payload {exc}") from None
    except json.JSONDecodeError as exc:
        raise Rejected(f"payload is not JSON: {exc.msg} at char {exc.pos}") from None
    except RecursionError:
        raise Rejected("payload nested too deep") from None
    if not isinstance(data, dict):
        raise Rejected(f"payload is a JSON {type(data).__name__}, not an object")
    if "\\u" in text and not _storable(data):
        raise _rejected("payload holds a NUL character or a lone surrogate (\\u escapes no database can store)", data)
    version = data.get("schema_version")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        readable = " and ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise _rejected(f"unsupported schema_version {repr(version)[:20]} (this collector reads {readable})", data)
    try:
        validate_schema(data, version)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise _rejected(f"schema: {exc.message[:300]}", data) from None
    if (data["site_id"], data["gateway_id"]) != ids:
        raise _rejected(f"topic says {ids[0]}/{ids[1]} but payload says {data['site_id']}/{data['gateway_id']}", data)
    # the schema's pattern already holds event_id to a UUID's exact form: no second check on the common path
    return Received(data, text) if "\n" not in text and "\r" not in text else data


def _rejected(reason: str, data: dict[str, Any]) -> Rejected:
    """A rejection that names the payload's event_id and seq when they are valid (the gateway gets a receipt)."""
    return Rejected(reason, _valid_event_id(data.get("event_id")), _valid_seq(data.get("seq")))
