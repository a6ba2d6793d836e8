"""`edge export` (jsonl, csv, --date with time zone), the day's rows from the check-ins, and `edge report`'s
formats (spreadsheet-safe cells, the school's zone, a table never cut to 80 columns). The attendance rule's cases
through `edge report` and the web API are in tests/test_attendance_one_answer.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from edge.central.attendance.daily import attendance
from edge.central.store import open_store
from edge.cli import cli
from edge.contract.checkin import CheckIn, new_event_id
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
    r = CliRunner().invoke(cli, ["export", "--store", str(db), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    assert [json.loads(line) for line in r.output.splitlines()] == events

    r = CliRunner().invoke(cli, ["export", "--store", str(db), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [row["seq"] for row in rows] == ["1", "2", "3"]
    assert rows[1]["distance"] == "0.41" and rows[2]["person_id"] == ""


def test_export_by_date_and_time_zone(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    fill(db)
    r = CliRunner().invoke(cli, ["export", "--store", str(db), "--date", "2026-11-24"])
    assert [json.loads(line)["seq"] for line in r.output.splitlines()] == [2, 3]
    # 23:30 UTC on the 23rd is already the 24th in Europe/Berlin (UTC+1 in November)
    r = CliRunner().invoke(cli, ["export", "--store", str(db), "--date", "2026-11-24", "--tz", "Europe/Berlin"])
    assert [json.loads(line)["seq"] for line in r.output.splitlines()] == [1, 2, 3]
    r = CliRunner().invoke(cli, ["export", "--store", str(db), "--date", "24/11/2026"])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    # once the store holds the school (Asia/Ho_Chi_Minh), its zone is the default: 23:30 UTC is 06:30 on the 24th
    _school(db, [Person("a", "Ann", "6A", None)])
    r = CliRunner().invoke(cli, ["export", "--store", str(db), "--date", "2026-11-24"])
    assert [json.loads(line)["seq"] for line in r.output.splitlines()] == [1, 2, 3]


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


INJECTIONS = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"]


def test_csv_cells_are_safe_for_spreadsheets(tmp_path: Path) -> None:
    from edge.central.spreadsheet import FORMULA_STARTS, safe_cell

    assert [safe_cell(v) for v in INJECTIONS] == ["'" + v for v in INJECTIONS]
    assert safe_cell("Ann") == "Ann" and safe_cell(-1) == -1 and safe_cell(None) == ""

    # names in the roster (report) and text in stored check-ins (export): person_id and device_id are free text
    db = tmp_path / "c.sqlite"
    store = open_store(str(db))
    for i, bad in enumerate(INJECTIONS, start=1):
        e = CheckIn(new_event_id(), "s", "gw", "main", "in", f"2026-11-24T07:0{i}:00.000Z", i, "card", bad,
                    "granted", card_uid="0F00A1B2C3", device_id=bad).to_dict()  # fmt: skip
        store.insert(e)
    store.close()
    r = CliRunner().invoke(cli, ["export", "--store", str(db), "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [row["person_id"] for row in rows] == ["'" + v for v in INJECTIONS]
    assert [row["device_id"] for row in rows] == ["'" + v for v in INJECTIONS]

    _school(db, [Person(f"p{i}", bad.strip(), bad.strip(), None) for i, bad in enumerate(INJECTIONS)])
    r = CliRunner().invoke(cli, ["report", "--store", str(db), "--date", "2026-11-24", "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    cells = {row["person_id"]: (row["name"], row["class"]) for row in rows}
    # the roster reader may trim surrounding whitespace (tab, CR); whatever reaches the CSV is neutralised
    for i, bad in enumerate(INJECTIONS):
        name, class_name = cells[f"p{i}"]
        assert name == class_name and not name.startswith(FORMULA_STARTS), name
        assert name.removeprefix("'") == bad.strip() and (name.startswith("'") or bad.strip() != bad)


def _school(db: Path, people: list[Person]) -> None:
    """School "s" in the store: the test calendar (Asia/Ho_Chi_Minh, 2026-11-24 a school day), `people` enrolled
    from before the term."""
    from datetime import date

    from edge.central.school import edits
    from edge.central.web.db import WebDb
    from edge.config.central import parse_central_text
    from tests.calendar_support import CENTRAL

    cfg = parse_central_text(CENTRAL.replace("id: s1", "id: s"), env={}).schools[0]
    assert cfg.calendar is not None
    web = WebDb(f"sqlite:///{db}")
    try:
        with web.transaction() as tx:
            edits.upsert_school(tx, "s", name=cfg.name, timezone=cfg.timezone)
            edits.set_calendar(tx, "s", cfg.calendar)
            edits.replace_students(tx, "s", people, today=date(2026, 9, 1))
    finally:
        web.close()


def test_report_in_the_school_time_zone_and_formats(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    fill(db)  # a at 06:30, b at 14:45 on 2026-11-24, Asia/Ho_Chi_Minh
    long_name = "Bartholomew Alexander Montgomery-Fitzwilliam the Third of Somewhere Far"
    _school(db, [Person("a", "Ann", "6A", None), Person("b", long_name, "6A", None), Person("c", "Cid", "7B", None)])
    args = ["report", "--store", str(db), "--date", "2026-11-24"]

    r = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["tz"] == "Asia/Ho_Chi_Minh", "the school's zone by default, never UTC"
    first_in = {p["person_id"]: p["first_in"] for p in doc["people"]}
    assert first_in == {"a": "2026-11-24T06:30:00.000+07:00", "b": "2026-11-24T14:45:00.000+07:00", "c": None}
    assert doc["present"] == 2 and doc["roster"] == 3 and doc["unidentified"] == {"denied": 1, "unknown": 0}

    r = CliRunner().invoke(cli, [*args, "--tz", "Europe/Berlin"])  # a table, into a pipe (not a terminal)
    assert r.exit_code == 0, r.output
    assert long_name in r.output and "08:45:00.000+01:00" in r.output
    assert max(len(line) for line in r.output.splitlines()) > 80  # not cut to 80 columns

    r = CliRunner().invoke(cli, [*args, "--format", "csv", "--tz", "America/New_York"])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert {row["person_id"]: row["first_in"] for row in rows}["b"] == "2026-11-24T02:45:00.000-05:00"
    r = CliRunner().invoke(cli, [*args, "--school", "nowhere"])
    assert r.exit_code == 2 and "does not hold school 'nowhere'" in r.output
