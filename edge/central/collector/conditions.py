"""The check-in schema's conditional rules (`allOf: [{"if": …, "then": …}]`) as plain Python predicates.

Why: fastjsonschema compiles `if` as "try the condition, catch its failure": every check-in whose `if` does not
hold (a card check-in has no `distance`, a granted one is not denied, …) raises and catches a validation
exception, and building that exception — a message plus the whole schema as its `definition` — was two thirds of
the validator's time (≈15 µs of ≈25 µs per check-in). The collector therefore validates with the schema minus
its `allOf` (no exceptions on a valid check-in) and then these predicates; only when a predicate fails does it
run the full compiled schema, which stays the authority and gives the error message (see validate.py).

Only the few forms the schema uses are understood — `required`, and `properties` whose values test `enum`,
`const` or `type` "string"/"null" — anything else raises Unsupported at start-up and the collector simply
validates with the full schema every time. JSON equality, not Python's: `true` is not `1`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
_IGNORED = frozenset({"description", "title", "$comment"})


class Unsupported(ValueError):
    """A schema construct these predicates do not implement (the full validator is then used throughout)."""


def compile_conditions(schema: Mapping[str, Any]) -> Predicate:
    """One predicate: True when every `if` that holds has its `then` holding too."""
    rules: list[tuple[Predicate, Predicate]] = []
    for rule in schema.get("allOf", []):
        if set(rule) - _IGNORED != {"if", "then"}:
            raise Unsupported(f"allOf member with keys {sorted(rule)}")
        rules.append((_object_test(rule["if"]), _object_test(rule["then"])))

    def holds(data: Mapping[str, Any]) -> bool:
        return all(then(data) for cond, then in rules if cond(data))

    return holds


def _object_test(sub: Mapping[str, Any]) -> Predicate:
    checks: list[Predicate] = []
    for key, value in sub.items():
        if key in _IGNORED:
            continue
        if key == "required":
            checks.append(_has_all(tuple(value)))
        elif key == "properties":
            checks += [_property(name, _value_test(prop)) for name, prop in value.items()]
        else:
            raise Unsupported(f"keyword {key!r} in a condition")
    return lambda d: all(check(d) for check in checks)


def _has_all(names: tuple[str, ...]) -> Predicate:
    return lambda d: all(n in d for n in names)


def _property(name: str, test: Callable[[Any], bool]) -> Predicate:
    return lambda d: name not in d or test(d[name])  # JSON Schema: `properties` only speaks of those present


def _value_test(prop: Mapping[str, Any]) -> Callable[[Any], bool]:
    tests: list[Callable[[Any], bool]] = []
    for key, value in prop.items():
        if key in _IGNORED:
            continue
        if key == "enum":
            tests.append(_one_of(tuple(value)))
        elif key == "const":
            tests.append(_one_of((value,)))
        elif key == "type":
            types = frozenset((value,) if isinstance(value, str) else value)
            if not types <= {"string", "null"}:
                raise Unsupported(f"type {value!r} in a condition")
            tests.append(_of_type(types))
        else:
            raise Unsupported(f"keyword {key!r} in a condition's property")
    return lambda v: all(t(v) for t in tests)


def _one_of(allowed: tuple[Any, ...]) -> Callable[[Any], bool]:
    return lambda v: any(json_equal(v, a) for a in allowed)


def _of_type(types: frozenset[str]) -> Callable[[Any], bool]:
    return lambda v: ("string" in types and isinstance(v, str)) or ("null" in types and v is None)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: numbers by value (1 == 1.0), booleans only with booleans, strings, null; arrays
    and objects member by member."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b
