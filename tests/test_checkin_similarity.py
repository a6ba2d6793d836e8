"""The face score stored at the centre under its own name (#22, migration 0009), on SQLite and PostgreSQL: the
collector keeps check-in v2's SFace `similarity` in the `similarity` column and a `distance` (v1, or dlib's v2) in
`distance`; check-ins stored before the migration get their similarity from the payload they were stored with; the
API shows both fields for what they are."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.central.collector.validate import parse_checkin
from edge.central.store import CheckinStore, open_store
from edge.central.store.migrate import latest_version, migrations
from edge.contract.checkin import CheckIn, new_event_id
from tests.web_support import SCHOOL_MORNING, SITE, login, make_web

PREFIX = "edge/v1"


def _v2(
    seq: int, *, site: str = "s1", at: str = "2026-11-24T07:45:00.000Z", person: str = "p1", **score: float
) -> bytes:
    e = CheckIn(new_event_id(), site, "gw-1", "main", "in", at, seq, "face", person, "granted", **score)  # type: ignore[arg-type]
    return e.to_json().encode()


def _v1(seq: int, distance: float) -> bytes:
    e = json.loads(_v2(seq, distance=distance))
    e["schema_version"] = 1
    return json.dumps(e).encode()


def _received(payload: bytes, site: str = "s1") -> dict[str, Any]:
    return parse_checkin(f"{PREFIX}/{site}/gw-1/checkin", payload, PREFIX)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'c.sqlite'}"
    return str(request.getfixturevalue("postgres").fresh_database())


@pytest.fixture
def store(url: str) -> Iterator[CheckinStore]:
    s = open_store(url)
    yield s
    s.close()


def test_the_collector_stores_each_score_in_its_column(store: CheckinStore) -> None:
    sface, dlib, old = _v2(1, similarity=0.7312), _v2(2, distance=0.3125), _v1(3, 0.984)
    assert store.store_batch([_received(p) for p in (sface, dlib, old)]) == ["stored"] * 3
    rows = {r["seq"]: r for r in store.checkins()}
    assert rows[1]["similarity"] == pytest.approx(0.7312) and rows[1]["distance"] is None
    assert rows[2]["distance"] == pytest.approx(0.3125) and rows[2]["similarity"] is None
    assert rows[3]["distance"] == pytest.approx(0.984) and rows[3]["similarity"] is None  # v1: its name, kept
    assert store.schema_version() == latest_version()


def _raw_execute(url: str, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Run statements on the database itself (the state a pre-0009 centre is in), outside the store."""
    if url.startswith("sqlite:///"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        with con:
            for sql, params in statements:
                con.execute(sql, params)
        con.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        for sql, params in statements:
            conn.execute(sql.replace("?", "%s").encode(), params)


def test_migration_0009_copies_the_similarity_from_stored_payloads(url: str) -> None:
    (m,) = [m for m in migrations("sqlite") if m.name == "checkin_similarity"]
    s = open_store(url)
    rows = [_received(_v2(1, similarity=0.6125)), _received(_v2(2, distance=0.3)), _received(_v1(3, 0.9))]
    s.store_batch(rows)
    s.close()
    # back to the schema before 0009: no similarity column, the score only in the payload
    _raw_execute(
        url,
        [
            ("UPDATE checkins SET similarity = NULL", ()),
            ("ALTER TABLE checkins DROP COLUMN similarity", ()),
            ("DELETE FROM schema_migrations WHERE version = ?", (m.version,)),
        ],
    )
    s = open_store(url, auto_migrate=False)
    try:
        assert s.schema_version() == m.version - 1
        assert s.migrate() == [f"{m.version:04d}_{m.name}"]
        got = {r["seq"]: (r["similarity"], r["distance"]) for r in s.checkins()}
        assert got[1][0] == pytest.approx(0.6125) and got[1][1] is None
        assert got[2] == (None, pytest.approx(0.3)) and got[3] == (None, pytest.approx(0.9))
    finally:
        s.close()


def test_the_api_shows_similarity_and_distance_for_what_they_are(tmp_path: Path, url: str) -> None:
    ctx, app = make_web(tmp_path, None if url.startswith("sqlite") else url)
    try:

        def stamp(i: int) -> str:
            return (SCHOOL_MORNING + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        ctx.store.store_batch(
            [
                _received(_v2(1, site=SITE, at=stamp(1), person="an", similarity=0.7312), SITE),
                _received(_v2(2, site=SITE, at=stamp(2), person="binh", distance=0.3125), SITE),
            ]
        )
        with TestClient(app, raise_server_exceptions=False) as c:
            login(c, "office")
            items = {i["person_id"]: i for i in c.get(f"/api/v1/schools/{SITE}/checkins").json()["items"]}
            assert items["an"]["similarity"] == pytest.approx(0.7312) and items["an"]["distance"] is None
            assert items["binh"]["distance"] == pytest.approx(0.3125) and items["binh"]["similarity"] is None
            fields = c.get("/api/openapi.json").json()["components"]["schemas"]["Checkin"]["properties"]
            assert "higher is closer" in fields["similarity"]["description"]
            assert "lower is closer" in fields["distance"]["description"]
    finally:
        ctx.close()
        ctx.store.close()
