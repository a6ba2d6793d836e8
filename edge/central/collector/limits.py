"""Size and nesting limits checked on the raw bytes, BEFORE any JSON object is built.

Why not after: json.loads of 3,000 nested arrays builds them all (and a deep enough document raises
RecursionError in the parser or in whatever walks it next, which once crashed the collector in a loop on
redelivery). The scanner is linear in the payload, respects strings and escapes (a "[[[" inside a string is not
nesting), and costs nothing for ordinary check-ins: when the payload holds fewer brackets than the limit, it
cannot be nested deeper, so the byte-by-byte walk only runs for suspicious payloads."""

from __future__ import annotations

MAX_PAYLOAD_BYTES = 16 * 1024
MAX_DEPTH = 16
"""A check-in is one flat object (depth 1); 16 leaves room for later schema versions."""

_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")


class LimitExceeded(ValueError):
    pass


def too_deep(payload: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when arrays/objects nest deeper than `limit` (outside strings). Fewer brackets than the limit in the
    whole payload cannot nest deeper: then no byte is walked in Python."""
    if payload.count(b"[") + payload.count(b"{") <= limit:
        return False
    return nesting_depth(payload, limit) > limit


def nesting_depth(payload: bytes, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays/objects outside strings; stops scanning as soon as it passes `limit` (and
    then returns limit + 1)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in payload:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in _CLOSE:
            depth -= 1
    return deepest


def check_limits(payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES, max_depth: int = MAX_DEPTH) -> None:
    if len(payload) > max_bytes:
        raise LimitExceeded(f"payload too large ({len(payload)} bytes > {max_bytes})")
    if too_deep(payload, max_depth):
        raise LimitExceeded(f"payload nested too deep (more than {max_depth} levels)")
