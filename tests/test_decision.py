"""The open-set rule: threshold, margin to the second-nearest person, edge cases."""

from __future__ import annotations

import numpy as np

from edge.recognition.decision import DecisionRule, decide

RULE = DecisionRule(threshold=0.5, margin=0.08)
PEOPLE = ["ann", "bob", "cat"]


def d(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def test_clear_match() -> None:
    ident = decide(PEOPLE, d(0.7, 0.35, 0.8), RULE)
    assert (ident.person_id, ident.nearest, ident.reason) == ("bob", "bob", "match")
    assert ident.second_distance is not None and abs(ident.second_distance - 0.7) < 1e-6
    assert ident.margin is not None and abs(ident.margin - 0.35) < 1e-6


def test_too_far_is_unknown_but_names_the_nearest() -> None:
    ident = decide(PEOPLE, d(0.7, 0.55, 0.8), RULE)
    assert (ident.person_id, ident.nearest, ident.reason) == (None, "bob", "too far")


def test_two_people_equally_close_is_ambiguous() -> None:
    ident = decide(PEOPLE, d(0.45, 0.40, 0.8), RULE)
    assert (ident.person_id, ident.reason) == (None, "ambiguous")
    assert decide(PEOPLE, d(0.49, 0.40, 0.8), RULE).person_id == "bob"


def test_single_person_and_empty_gallery() -> None:
    assert decide(["ann"], d(0.3), RULE).person_id == "ann"
    assert decide(["ann"], d(0.3), RULE).second_distance is None
    assert decide([], d(), RULE).reason == "empty gallery"
