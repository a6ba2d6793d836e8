"""`edge export` (jsonl, csv, --date with time zone) and the attendance report."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from edge.central.attendance.daily import attendance
from edge.central.store import open_store
from edge.cli import cli
from edge.events.checkin import CheckIn, new_event_id
from edge.roster import Person


def fill(db: Path) -> list[dict[str, object]]:
    store = open_store(str(db))
    events = [
        CheckIn(
            new_event_id(),
            "s",
            "gw",
            "main",
            "in",
            "2026-11-23T23:30:00.000Z",
            1,
            "card",
            "a",
            "granted",
            card_uid="0F00A1B2C3",
        ).to_dict(),
        CheckIn(
            new_event_id(),
            "s",
            "gw",
            "main",
            "in",
            "2026-11-24T07:45:00.000Z",
            2,
            "face",
            "b",
            "granted",
            distance=0.41,
        ).to_dict(),
        CheckIn(
            new_event_id(),
            "s",
            "gw",
            "main",
            "in",
            "2026-11-24T07:46:00.000Z",
            3,
            "card",
            None,
            "denied",
            card_uid="DEADBEEF00",
        ).to_dict(),
    ]
    for e in events:
        assert store.insert(e) == "stored"
    assert store.insert(events[0]) == "duplicate"
    store.close()
    return events


def test_export_jsonl_and_csv(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    events = fill(db)
    r = CliRunner().invoke(cli, ["export", "--db", str(db), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    assert [json.loads(line) for line in r.output.splitlines()] == events

    r = CliRunner().invoke(cli, ["export", "--db", str(db), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [row["seq"] for row in rows] == ["1", "2", "3"]
    assert rows[1]["distance"] == "0.41" and rows[2]["person_id"] == ""


def test_export_by_date_and_time_zone(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    fill(db)
    r = CliRunner().invoke(cli, ["export", "--db", str(db), "--date", "2026-11-24"])
    assert [json.loads(line)["seq"] for line in r.output.splitlines()] == [2, 3]
    # 23:30 UTC on the 23rd is already the 24th in Europe/Berlin (UTC+1 in November)
    r = CliRunner().invoke(cli, ["export", "--db", str(db), "--date", "2026-11-24", "--tz", "Europe/Berlin"])
    assert [json.loads(line)["seq"] for line in r.output.splitlines()] == [1, 2, 3]
    r = CliRunner().invoke(cli, ["export", "--db", str(db), "--date", "24/11/2026"])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output


def test_attendance_rows(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    fill(db)
    store = open_store(str(db))
    roster = [
        Person("a", "Ann", "1A", "0F00A1B2C3"),
        Person("b", "Bob", "1A", None),
        Person("c", "Cid", "1B", None),
    ]
    rows, unidentified = attendance(store, roster)
    assert [(r.person_id, r.method) for r in rows] == [("a", "card"), ("b", "face"), ("c", None)]
    assert rows[2].first_in is None
    assert unidentified == {"denied": 1, "unknown": 0}
    store.close()
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("person_id,name,class\na,Ann,1A\nb,Bob,1A\nc,Cid,1B\n")
    r = CliRunner().invoke(cli, ["report", "--db", str(db), "--roster", str(roster_csv), "--date", "2026-11-24"])
    assert r.exit_code == 0, r.output
    assert "present 1/3" in r.output and "absent" in r.output
