"""The open-set rule: threshold, margin to the second-nearest person, edge cases."""

from __future__ import annotations

import itertools

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


def test_the_default_threshold_grows_stricter_with_the_gallery_size() -> None:
    for model in ("sface", "dlib"):
        rule = DecisionRule.for_model(model)
        sizes = [1, 40, rule.reference_people, 300, 1000, 2000, 10_000]
        ts = [rule.threshold_for(n) for n in sizes]
        assert ts[0] == ts[1] == ts[2] == rule.threshold  # never looser than the reference, below it
        if rule.per_decade > 0:
            assert all(a > b for a, b in itertools.pairwise(ts[2:]))
    sface = DecisionRule.for_model("sface")
    assert sface.per_decade > 0
    # one face at the same distance: a match in a class-sized gallery, too far in a school-sized one
    between = (sface.threshold_for(150) + sface.threshold_for(2000)) / 2
    small = [f"p{i}" for i in range(150)]
    large = [f"p{i}" for i in range(2000)]
    near = np.full(len(large), 1.9, np.float32)
    near[7] = between
    assert decide(small, near[:150], sface).person_id == "p7"
    far = decide(large, near, sface)
    assert (far.person_id, far.reason) == (None, "too far")
    assert far.threshold is not None and far.threshold < between


def test_an_explicit_threshold_is_used_at_every_gallery_size() -> None:
    rule = DecisionRule.for_model("sface", threshold=1.0)
    assert rule.threshold_for(10) == rule.threshold_for(100_000) == 1.0


def test_a_bare_rule_is_the_default_models_measured_rule_not_numbers_of_its_own() -> None:
    """One source of truth: DecisionRule() is SFace's documented rule (SFACE_DEFAULTS), the one the gateway uses
    with a default config; an explicit threshold in a sweep is fixed at every N."""
    from edge.recognition.backend import DEFAULT_MODEL, defaults_of
    from edge.recognition.commands import default_rule

    d = defaults_of(DEFAULT_MODEL)
    assert DecisionRule() == DecisionRule.for_model(DEFAULT_MODEL) == default_rule()
    rule = DecisionRule()
    assert (rule.threshold, rule.margin, rule.verify_threshold) == (d.threshold, d.margin, d.verify_threshold)
    assert rule.threshold_for(2000) < rule.threshold_for(150) == d.threshold
    fixed = DecisionRule(0.9, 0.05, per_decade=0.0)
    assert fixed.threshold_for(2000) == fixed.threshold_for(10) == 0.9
