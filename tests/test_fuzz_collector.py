"""Fuzzing the collector's validation: whatever arrives on a check-in topic, the only outcome besides a valid
event is Rejected with a reason — never another exception that would stop the stream."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.central.collector.validate import Rejected, parse_checkin
from edge.contract.checkin import checkin_schema
from tests.helpers import fuzz_examples

TOPIC = "edge/v1/test-school/gw-1/checkin"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=15), inner, max_size=6),
    max_leaves=30,
)
FIELDS = list(checkin_schema()["properties"])  # every field the schema knows


def outcome(payload: bytes, topic: str = TOPIC) -> str:
    try:
        parse_checkin(topic, payload, "edge/v1")
    except Rejected as exc:
        assert exc.reason
        return "rejected"
    return "valid"


@given(st.binary(max_size=3000))
@settings(max_examples=fuzz_examples(400), deadline=None)
def test_arbitrary_bytes(data: bytes) -> None:
    outcome(data)


@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS)))
@settings(max_examples=fuzz_examples(400), deadline=None)
def test_check_in_shaped_objects_with_random_values(obj: dict[str, Any]) -> None:
    outcome(json.dumps(obj).encode())


@given(json_values, st.text(max_size=60))
@settings(max_examples=fuzz_examples(200), deadline=None)
def test_random_json_on_random_topics(value: Any, topic: str) -> None:
    outcome(json.dumps(value).encode(), topic)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


deep_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ax', max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=5), inner),
    max_leaves=60,
)


@given(deep_values)
@settings(max_examples=fuzz_examples(400), deadline=None)
def test_the_byte_scanner_measures_nesting_like_the_parser(value: Any) -> None:
    """Brackets and escaped quotes inside strings are not nesting; the scanner agrees with the real structure."""
    from edge.central.collector.limits import nesting_depth, too_deep

    payload = json.dumps(value).encode()
    assert nesting_depth(payload, limit=1000) == depth_of(value)
    for limit in (1, 3, 8):
        assert too_deep(payload, limit) == (depth_of(value) > limit)


@given(st.integers(min_value=17, max_value=200_000), st.sampled_from([b"[", b"{", b'{"a":']))
@settings(max_examples=fuzz_examples(30), deadline=None)
def test_deep_and_huge_payloads_are_rejected_without_parsing(n: int, opener: bytes) -> None:
    assert outcome(opener * n) == "rejected"
