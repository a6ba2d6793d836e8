"""The school's state in the store (#20): edits bump the version in their transaction, load_school reads back what
was written, the roster keeps its history (enrolment dates), the watcher reports each new version once, account
scopes are checked against the store. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from edge.central.guardians import Guardian
from edge.central.school import edits
from edge.central.school.state import check_account_scope, load_school, school_problem
from edge.central.school.watch import StateWatcher
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.config.central import CalendarConfig, Holiday, MakeupDay, Term, Times
from edge.devtools.postgres import PostgresServer
from edge.roster import Person

SITE = "s1"
IMPORT_DAY = date(2026, 11, 24)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    else:
        url = f"sqlite:///{tmp_path / 'central.sqlite'}"
    open_store(url).close()  # applies the migrations
    return url


@pytest.fixture
def db(store_url: str) -> Iterator[WebDb]:
    d = WebDb(store_url)
    yield d
    d.close()


def _school(db: WebDb) -> None:
    cal = CalendarConfig(
        terms=[Term(name="Học kỳ I", start=date(2026, 9, 5), end=date(2027, 1, 16))],
        holidays=[Holiday(name="Tết Dương lịch", start=date(2027, 1, 1))],
        makeup_days=[MakeupDay(name="Học bù", start=date(2026, 11, 28))],
        go_live=date(2026, 11, 2),
        cutoff="07:15",
        grades={"7": Times(cutoff="07:00")},
        classes={"6A": Times(dismissal="11:30")},
    )
    with db.transaction() as tx:
        edits.upsert_school(tx, SITE, name="Trường Thử", timezone="Asia/Ho_Chi_Minh")
        edits.set_calendar(tx, SITE, cal)


def test_a_school_round_trips_through_the_store(db: WebDb) -> None:
    assert school_problem(db, SITE) is not None
    _school(db)
    assert "no students" in (school_problem(db, SITE) or "")
    people = [Person("an", "Nguyễn Văn An", "6A", "0F00A1B2C3"), Person("binh", "Trần Thị Bình", "7B", None)]
    with db.transaction() as tx:
        change = edits.replace_students(tx, SITE, people, today=IMPORT_DAY)
        edits.upsert_guardians(
            tx, SITE, [Guardian("g1", "an", "Ba", "+84912345678", None, "sms", "vi", frozenset({"arrived", "absent"}))]
        )
        edits.register_gateway(tx, SITE, "gw-main", "cổng chính")
    assert change.added == ["an", "binh"]
    assert school_problem(db, SITE) is None
    state = load_school(db, SITE)
    assert state is not None
    assert state.name == "Trường Thử" and state.go_live == date(2026, 11, 2)
    assert [t.name for t in state.calendar.terms] == ["Học kỳ I"]
    assert state.calendar.makeup_days[0].start == date(2026, 11, 28)
    assert state.calendar.grades["7"].cutoff == "07:00" and state.calendar.classes["6A"].dismissal == "11:30"
    by_id = {p.person_id: p for p in state.students}
    assert by_id["an"].card_uid == "0F00A1B2C3" and by_id["an"].enrolled_from == IMPORT_DAY
    assert state.guardians[0].kinds == frozenset({"arrived", "absent"})
    assert state.active_gateways() == ["gw-main"]
    assert state.version >= 5  # school, calendar, students, guardians, gateway: one bump each
    d = state.directory(None)
    assert d.calendar.is_school_day(date(2026, 11, 28))  # a Saturday make-up day
    assert not d.calendar.is_school_day(date(2026, 10, 30))  # before go-live
    assert d.calendar.times_for("7B").cutoff.strftime("%H:%M") == "07:00"


def test_a_full_roster_import_ends_missing_enrolments_and_keeps_history(db: WebDb) -> None:
    _school(db)
    with db.transaction() as tx:
        edits.replace_students(
            tx, SITE, [Person("an", "An", "6A", "0F00A1B2C3"), Person("binh", "Bình", "6A", None)], today=IMPORT_DAY
        )
    later = date(2026, 12, 1)
    with db.transaction() as tx:  # binh leaves; chi arrives and takes an's old card; an changes card
        change = edits.replace_students(
            tx,
            SITE,
            [Person("an", "An", "6A", "0F00A1B2C9"), Person("chi", "Chi", "6A", "0F00A1B2C3")],
            today=later,
        )
    assert change.added == ["chi"] and change.left == ["binh"] and change.changed == ["an"]
    state = load_school(db, SITE)
    assert state is not None
    by_id = {p.person_id: p for p in state.students}
    assert by_id["binh"].enrolled_until == date(2026, 11, 30)
    assert by_id["binh"].enrolled_on(date(2026, 11, 30)) and not by_id["binh"].enrolled_on(later)
    assert by_id["chi"].enrolled_from == later and by_id["chi"].card_uid == "0F00A1B2C3"
    assert [p.person_id for p in state.enrolled(later)] == ["an", "chi"]


def test_an_edit_that_fails_leaves_no_version(db: WebDb) -> None:
    _school(db)
    before = load_school(db, SITE)
    assert before is not None
    with pytest.raises(RuntimeError), db.transaction() as tx:
        edits.register_gateway(tx, SITE, "gw-x")
        raise RuntimeError("the office's browser went away")
    after = load_school(db, SITE)
    assert after is not None and after.version == before.version and after.active_gateways() == []


def test_the_watcher_reports_each_new_version_once(store_url: str, db: WebDb) -> None:
    _school(db)
    seen: queue.Queue[tuple[str, int]] = queue.Queue()
    watcher = StateWatcher(store_url, lambda site, v: seen.put((site, v)), poll_s=0.2).start()
    try:
        start = watcher.versions[SITE]
        with db.transaction() as tx:
            edits.register_gateway(tx, SITE, "gw-2")
        assert seen.get(timeout=10) == (SITE, start + 1)
        with db.transaction() as tx:
            edits.revoke_gateway(tx, SITE, "gw-2")
        assert seen.get(timeout=10) == (SITE, start + 2)
        assert seen.empty()
    finally:
        watcher.stop()


def test_account_scope_is_checked_against_the_store(db: WebDb) -> None:
    _school(db)
    with db.transaction() as tx:
        edits.replace_students(tx, SITE, [Person("an", "An", "7B", None)], today=IMPORT_DAY)
    assert check_account_scope(db, SITE, ["7B"]) == []
    problems = check_account_scope(db, SITE, ["7b"])
    assert len(problems) == 1 and "'7B'" in problems[0]
    assert "not in the store" in check_account_scope(db, "no-such-school", [])[0]
    assert check_account_scope(db, None, []) == []
