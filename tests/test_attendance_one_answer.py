"""One question, one answer (#20): `edge report` and the web API judge a school's day the same way, from the
store — an excused student is excused, a class before its cut-off is pending (not absent), a student outside their
enrolment is not on the day's roster, a day before the go-live date is no school, and days after today are not
school days yet in a month's summary. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from edge.central.school import edits
from edge.central.school.state import load_school
from edge.central.web import school_day as sd
from edge.central.web.context import WebContext
from edge.cli import cli
from edge.config.central import Times
from edge.devtools.postgres import PostgresServer
from edge.roster import Person
from tests.web_support import SCHOOL_MORNING, SITE, checkin, login, make_web

TODAY = date(2026, 11, 24)  # SCHOOL_MORNING: 07:30 in Hà Nội, a Tuesday
GO_LIVE = date(2026, 11, 2)
HOLIDAY = date(2026, 11, 20)  # in the test calendar (web_support.CENTRAL)


@pytest.fixture(params=["sqlite", "postgresql"])
def school(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[WebContext, TestClient]]:
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    ctx, app = make_web(tmp_path, url)
    ctx.directories.check_s = 0.0  # every request looks at the school's version (the app checks once a second)
    state = load_school(ctx.db, SITE)
    assert state is not None
    by_id = {p.person_id: p for p in state.students}
    chi = by_id["chi"]
    with ctx.db.transaction() as tx:  # the office's edits: go-live, 6B's early cut-off, a transfer, a leaver
        edits.set_calendar(
            tx,
            SITE,
            state.calendar.model_copy(update={"go_live": GO_LIVE, "classes": {"6B": Times(cutoff="07:00")}}),
        )
        people = [p for p in state.students if p.person_id != "chi"]
        people.append(Person("chi", chi.name, chi.class_name, chi.card_uid, chi.photos, TODAY + timedelta(days=1)))
        people.append(Person("giang", "Vũ Giang", "6B", None, (), date(2026, 9, 1), HOLIDAY))
        edits.replace_students(tx, SITE, people, today=TODAY, full=True)
        sd.record_excuse(tx, SITE, "em", TODAY, "ốm (sick)", "office", 0.0)
    # an arrived at 07:10; nobody else has come in yet
    ctx.store.store_batch([checkin("an", SCHOOL_MORNING - timedelta(minutes=20))], [])
    with TestClient(app) as client:
        login(client, "office")
        yield ctx, client
    ctx.close()
    ctx.store.close()


def _report(ctx: WebContext, day: date, *extra: str) -> dict[str, Any]:
    r = CliRunner().invoke(
        cli,
        ["report", "--store", ctx.db.url, "--date", day.isoformat(), "--at", SCHOOL_MORNING.isoformat(),
         "--format", "json", *extra],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc: dict[str, Any] = json.loads(r.output)
    return doc


def _api(client: TestClient, day: date) -> tuple[bool, dict[str, str]]:
    out: dict[str, str] = {}
    school_day = True
    for class_name in ("6A", "6B"):
        r = client.get(f"/api/v1/schools/{SITE}/classes/{class_name}/days/{day.isoformat()}")
        assert r.status_code == 200, r.text
        body = r.json()
        school_day = body["school_day"]
        out.update({s["person_id"]: s["status"] for s in body["students"]})
    return school_day, out


def test_the_report_and_the_api_give_the_same_answer(school: tuple[WebContext, TestClient]) -> None:
    ctx, client = school
    doc = _report(ctx, TODAY)
    from_report = {p["person_id"]: p["status"] for p in doc["people"]}
    school_day, from_api = _api(client, TODAY)
    expected = {
        "an": "present",  # arrived 07:10
        "binh": "pending",  # 6A's cut-off (07:45) has not passed at 07:30: not absent
        "dung": "absent",  # 6B's cut-off (07:00) has passed
        "em": "excused",  # excused by the office: never "absent"
    }  # chi is enrolled from tomorrow and giang left on the 20th: not on today's roster
    assert from_report == expected and from_api == expected and school_day
    assert doc["tz"] == "Asia/Ho_Chi_Minh" and doc["excused"] == 1 and doc["absent"] == 1


def test_no_absence_before_go_live(school: tuple[WebContext, TestClient]) -> None:
    ctx, client = school
    before = GO_LIVE - timedelta(days=3)  # a Friday inside the term, before the system existed
    doc = _report(ctx, before)
    school_day, from_api = _api(client, before)
    assert not doc["school_day"] and not school_day
    assert set(p["status"] for p in doc["people"]) == {"no_school"} == set(from_api.values())
    assert doc["absent"] == 0


def test_a_months_summary_counts_no_day_after_today_nor_before_go_live(school: tuple[WebContext, TestClient]) -> None:
    _ctx, client = school
    r = client.get(f"/api/v1/reports/{SITE}/summary", params={"month": "2026-11"})
    assert r.status_code == 200, r.text
    body = r.json()
    expected_days = [
        (GO_LIVE + timedelta(days=i)).isoformat()
        for i in range((TODAY - GO_LIVE).days + 1)
        if (GO_LIVE + timedelta(days=i)).weekday() < 5 and GO_LIVE + timedelta(days=i) != HOLIDAY
    ]
    assert body["school_days"] == expected_days
    rows = {s["person_id"]: s for s in body["students"]}
    # binh: every past school day absent; today is a school day, pending (not judged yet): not an absence
    assert rows["binh"]["school_days"] == len(expected_days) and rows["binh"]["absent"] == len(expected_days) - 1
    assert rows["an"]["present"] == 1 and rows["an"]["absent"] == len(expected_days) - 1
    assert rows["em"]["excused"] == 1
    # chi is enrolled from tomorrow: no school day of hers has happened, so no absence
    assert rows["chi"]["school_days"] == 0 and rows["chi"]["absent"] == 0
    # giang left after the 19th (enrolled until the holiday): her days stop there
    giang_days = [d for d in expected_days if d <= HOLIDAY.isoformat()]
    assert rows["giang"]["school_days"] == len(giang_days) == rows["giang"]["absent"]
