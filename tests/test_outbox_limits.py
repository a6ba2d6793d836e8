"""Outbox cap (an alarm, never a dropped check-in) and a full disk (a clear, counted error; seq stays whole)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from edge.contract.topics import GatewayTopics
from edge.gateway.policy import GateInfo, Observation, Policy
from edge.gateway.recorder import CheckinRecorder
from edge.outbox import Outbox, OutboxWriteError
from edge.roster import Person


def add(outbox: Outbox, n: int, size: int = 20) -> list[int]:
    return [outbox.append(lambda seq: ("t", f"id-{seq}", "x" * size)) for _ in range(n)]


def test_cap_raises_the_alarm_and_keeps_every_checkin(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "gw.sqlite", max_events=3, max_bytes=10_000)
    add(ob, 2)
    assert not ob.over_cap
    add(ob, 3)
    assert ob.over_cap and ob.depth() == 5, "over the cap, still stored"
    ob.ack(1)
    ob.ack(2)
    ob.ack(3)
    assert not ob.over_cap
    add(ob, 1, size=20_000)
    assert ob.over_cap and ob.size_bytes == 2 * 20 + 20_000, "the byte cap counts payloads"
    ob.close()
    reopened = Outbox(tmp_path / "gw.sqlite", max_events=3, max_bytes=10_000)
    assert reopened.over_cap and reopened.size_bytes == 20_040 and reopened.depth() == 3
    reopened.close()


def fill_disk(ob: Outbox) -> None:
    """SQLite answers SQLITE_FULL exactly as on a full disk once the file may not grow: cap the file at its
    size, then use up the free space left in its pages."""
    ob._conn.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
    pages = ob._conn.execute("PRAGMA page_count").fetchone()[0]
    ob._conn.execute(f"PRAGMA max_page_count = {pages}")
    with contextlib.suppress(sqlite3.OperationalError):
        for size in (4096, 512, 64, 8):
            while True:
                ob._conn.execute("INSERT INTO filler VALUES (randomblob(?))", (size,))


def test_full_disk_is_a_clear_error_and_seq_continues_after(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "gw.sqlite")
    add(ob, 2)
    fill_disk(ob)
    with pytest.raises(OutboxWriteError, match="database or disk is full"):
        add(ob, 1, size=200_000)
    assert ob.depth() == 2 and ob.last_seq() == 2 and ob.write_errors == 1
    ob._conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    assert add(ob, 1) == [3], "no seq was burnt or reused by the failed write"
    ob.close()


class Roster:
    def by_card(self, uid: str) -> Person | None:
        return Person("ann", "Ann", "1A", uid) if uid == "0A0B0C0D0E" else None


def test_recorder_counts_and_reports_a_checkin_it_could_not_store(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "gw.sqlite")
    recorder = CheckinRecorder(
        Policy(Roster(), debounce_s=0, unknown_debounce_s=0), ob, GatewayTopics("edge/v1", "s", "g")
    )
    gate = GateInfo("g1", "in", "card")
    fill_disk(ob)  # the outbox's own pages still have room for a few check-ins, then the disk is full
    taps = 0
    while recorder.lost < 3 and taps < 200:  # keeps deciding; each loss counted, nothing raised to the reader
        recorder.submit(Observation(gate, "r1", "card", float(taps), card_uid="0A0B0C0D0E"))
        taps += 1
    assert recorder.lost == 3 and recorder.recorded + recorder.lost == taps
    assert ob.depth() == recorder.recorded and ob.last_seq() == recorder.recorded
    assert "check-in not stored (granted ann)" in (recorder.last_error or "")
    assert "disk is full" in (recorder.last_error or "")
    ob.close()
