"""The collector's fast schema check (the schema without its if/then rules, then those rules as predicates:
edge/central/collector/conditions.py) accepts exactly what the full compiled schema accepts, and rejects with
the full schema's own message — a hypothesis property over check-ins mutated around every conditional field."""

from __future__ import annotations

import json
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.central.collector.conditions import Unsupported, compile_conditions, json_equal
from edge.central.collector.validate import _compiled, _fast, validate_schema
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from tests.helpers import fuzz_examples

BASE = json.loads(
    CheckIn(
        new_event_id(), "s1", "gw-1", "main", "in", rfc3339_ms(), 1, "card", "p1", "granted", card_uid="0F00A1B2C3"
    ).to_json()
)
ABSENT = object()
VALUES: dict[str, list[Any]] = {
    "method": ["card", "face", "card+face", "palm", 1, None, True],
    "decision": ["granted", "denied", "unknown", "maybe", None, 0],
    "person_id": ["p1", None, "", 7, False],
    "card_uid": ["0F00A1B2C3", "xyz", None, 12],
    "distance": [0.3, 0, 2, 3, -1, "0.3", True],
    "similarity": [0.61, -1, 1, 1.5, "0.6", None],
    "clock_unsynced": [True, False, 1, None],
    "seq": [1, 0, 2.0, True, "1"],
    "schema_version": [1, 2, 1.0, 2.0, True],
}


FACE = {k: v for k, v in BASE.items() if k != "card_uid"} | {"method": "face", "similarity": 0.61}
FACE_V1 = {k: v for k, v in FACE.items() if k != "similarity"} | {"schema_version": 1, "distance": 0.31}
CARD_V1 = BASE | {"schema_version": 1}


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid card or face check-in with one to three of its conditional fields changed or removed: near the
    boundaries of the if/then rules, where a wrong predicate would show."""
    data = dict(draw(st.sampled_from([BASE, FACE, CARD_V1, FACE_V1])))
    for key in draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=3, unique=True)):
        choice = draw(st.sampled_from([ABSENT, *VALUES[key]]))
        if choice is ABSENT:
            data.pop(key, None)
        else:
            data[key] = choice
    return data


def _outcome(check: Any, data: dict[str, Any]) -> str:
    try:
        check(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        return f"rejected: {exc.message}"
    return "valid"


@settings(max_examples=fuzz_examples(600))
@given(mutated())
def test_fast_check_agrees_with_the_full_schema(data: dict[str, Any]) -> None:
    for version in (1, 2):
        assert _fast(version) is not None, "the schema's rules are all understood: the fast path is in use"
        assert _outcome(lambda d, v=version: validate_schema(d, v), data) == _outcome(_compiled(version), data)


def test_the_fast_path_is_taken_for_valid_check_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid card check-in and a valid face check-in never reach the full schema (the point of it all)."""

    def fail(_data: Any) -> None:
        raise AssertionError("the full schema ran")

    monkeypatch.setattr("edge.central.collector.validate._compiled", lambda version: fail)
    for data in (BASE, FACE):
        validate_schema(data, 2)
    for data in (CARD_V1, FACE_V1):
        validate_schema(data, 1)


def test_json_equality_is_not_pythons() -> None:
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal(0, False) and not json_equal(None, 0)
    assert json_equal([1, "a"], [1.0, "a"]) and not json_equal([True], [1]) and json_equal({"a": 1}, {"a": 1.0})
    assert not json_equal({"a": 1}, {"b": 1}) and not json_equal("1", 1)


def test_an_unknown_construct_is_refused_not_guessed() -> None:
    for schema in (
        {"allOf": [{"if": {"minProperties": 2}, "then": {"required": ["a"]}}]},
        {"allOf": [{"if": {"properties": {"a": {"type": "integer"}}}, "then": {}}]},
        {"allOf": [{"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"required": ["c"]}}]},
    ):
        with pytest.raises(Unsupported):
            compile_conditions(schema)
