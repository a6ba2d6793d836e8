"""The parents' child page lists a parent's own newest notices, chosen in SQL (notify.jobs.notices_of with
guardian_ids and newest): only the guardians asked for, the last N by day, oldest first as without them; the
office's view (no filter) unchanged. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from edge.central.notify.jobs import notices_of
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.devtools.postgres import PostgresServer

FIRST = date(2026, 9, 7)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebDb]:
    url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    open_store(url).close()  # the schema
    d = WebDb(url)
    with d.transaction() as tx:
        for i in range(70):
            day = (FIRST + timedelta(days=i)).isoformat()
            for gid in ("an-g1", "an-g2"):
                tx.execute(
                    "INSERT INTO notify_jobs (key, site_id, person_id, day, kind, guardian_id, channel, language,"
                    " template, time, text, subject, status, created_at, next_at) VALUES (?, 's1', 'an', ?,"
                    " 'arrived', ?, 'sms', 'vi', 'arrived', '07:00', ?, '', 'sent', 0, 0)",
                    (f"s1/an/{day}/arrived/{gid}", day, gid, f"An đã đến {day}"),
                )
    yield d
    d.close()


def test_own_newest_notices_in_sql(db: WebDb) -> None:
    with db.connection() as conn:
        everything = notices_of(conn, db.engine, "s1", "an")
        mine = notices_of(conn, db.engine, "s1", "an", guardian_ids=("an-g2",), newest=50)
        none = notices_of(conn, db.engine, "s1", "an", guardian_ids=(), newest=50)
        one_day = notices_of(conn, db.engine, "s1", "an", FIRST, guardian_ids=("an-g1", "an-g2"), newest=50)
    assert len(everything) == 140 and everything[0]["day"] == FIRST.isoformat()
    assert {n["guardian_id"] for n in mine} == {"an-g2"} and len(mine) == 50
    assert [n["day"] for n in mine] == [(FIRST + timedelta(days=i)).isoformat() for i in range(20, 70)]
    assert mine == [n for n in everything if n["guardian_id"] == "an-g2"][-50:]
    assert none == []
    assert sorted(n["guardian_id"] for n in one_day) == ["an-g1", "an-g2"]
