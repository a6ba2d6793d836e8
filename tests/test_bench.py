"""Benchmark plumbing: truth scoring (unit) and `edge bench match` printing figures (no timing asserted)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from edge.bench.truth import Pass, Truth, score
from edge.cli import cli

TRUTH = Truth(
    30.0, 100, [Pass("ann", 0, 20, 5), Pass(None, 30, 50, 35), Pass("bob", 60, 80, 65), Pass("cat", 85, 99, 90)]
)


def test_score_counts_each_outcome() -> None:
    s = score(TRUTH, [(6, "ann"), (36, None), (40, "ann"), (66, "cat"), (95, None)])
    assert (s.correct, s.wrong_person, s.strangers_admitted, s.missed, s.decided_twice) == (1, 1, 1, 1, 1)
    assert (s.enrolled_passes, s.stranger_passes, s.outside_passes) == (3, 1, 0)
    assert score(TRUTH, [(25, "ann")]).outside_passes == 1


def test_bench_match_prints_timings_for_the_requested_size() -> None:
    res = CliRunner().invoke(cli, ["bench", "match", "--gallery-size", "2000", "--repeats", "20"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["templates"] == 2000 and out["people"] == 400
    assert out["identify_1_encodings_ms"]["p50"] > 0


def test_bench_gate_measures_every_tap_and_reconnect() -> None:
    result = CliRunner().invoke(cli, ["bench", "gate", "--taps", "4", "--replugs", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["missing"] == 0
    assert data["card_to_relay_ms"]["n"] == 4 and data["card_to_mqtt_ms"]["n"] == 4
    assert data["reconnect_after_replug_s"]["n"] == 1
    assert 0 < data["firmware"]["flash_bytes"] <= data["firmware"]["flash_total"]
