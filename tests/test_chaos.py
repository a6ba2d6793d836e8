"""A small chaos run in the suite: real broker, collector and gateway processes; broker stop/start, gateway
kill -9 (twice), collector restart, reader unplugged — every tap a running gateway read is stored exactly once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge.devtools.chaos import ChaosRun, ChaosSettings


@pytest.mark.slow
def test_chaos_run_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    report = ChaosRun(ChaosSettings(tmp_path, taps=600, rate=40, broker_down_s=2.0, receipt_timeout_s=2.0)).run()
    assert [f["name"] for f in report["faults"]] == [
        "broker stop/start",
        "gateway kill -9",
        "collector restart",
        "reader unplugged",
        "gateway kill -9",
    ]
    assert report["lost"] == 0, report["lost_cards"]
    assert report["duplicated"] == 0
    assert report["checkins_stored"] + report["unread"] == report["taps_sent"] == 600
    assert report["checkins_stored"] > 400, "most taps were read: the faults are short"
    assert report["max_outbox_depth"] > 0, "the broker outage made the outbox grow"
    assert report["seq_gaps"] == 0 and report["drain_after_broker_s"] is not None
    # seq continues across both kill -9s: never reused, never skipped among stored events
    con = sqlite3.connect(tmp_path / "collector.sqlite")
    seqs = [r[0] for r in con.execute("SELECT seq FROM checkins ORDER BY seq")]
    con.close()
    assert len(seqs) == len(set(seqs)) == report["checkins_stored"]
    assert seqs == list(range(1, len(seqs) + 1)), "every committed event arrived, in an unbroken seq"
