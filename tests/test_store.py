"""The store interface on both engines (SQLite file, real PostgreSQL from initdb + pg_ctl): idempotence by
event_id, one transaction per batch with the on_stored hook inside it, reads, retention, backup."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.central.store import CheckinStore, Reject, Tx, open_store
from edge.central.store.migrate import latest_version
from edge.contract.checkin import new_event_id
from edge.devtools.postgres import PostgresServer
from tests.store_support import event


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CheckinStore]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'c.sqlite'}")
    else:
        pg: PostgresServer = request.getfixturevalue("postgres")
        s = open_store(pg.fresh_database())
    yield s
    s.close()


def test_batch_outcomes_and_idempotence(store: CheckinStore) -> None:
    a, b = event(1), event(2)
    assert store.store_batch([a, b, a]) == ["stored", "stored", "duplicate"]
    assert store.store_batch([b, event(3)]) == ["duplicate", "stored"]
    assert store.insert(a) == "duplicate"
    assert store.count() == 3
    assert store.schema_version() == latest_version()


def test_rows_keep_every_field(store: CheckinStore) -> None:
    e = event(7, card_uid="0F00A1B2C3", distance=0.3125, device_id="r1", clock_unsynced=True)
    store.insert(e)
    (row,) = store.checkins()
    assert row["event_id"] == e["event_id"] and row["seq"] == 7 and row["distance"] == 0.3125
    assert row["clock_unsynced"] == 1 and row["card_uid"] == "0F00A1B2C3"
    import json

    assert json.loads(row["payload"]) == e


def test_rejects_in_the_same_transaction(store: CheckinStore) -> None:
    eid = new_event_id()
    store.store_batch([event(1)], [Reject("edge/v1/s1/gw-1/checkin", "schema: bad", b"\xff{x\x00", eid)])
    (r,) = store.rejects()
    assert r["event_id"] == eid and r["reason"] == "schema: bad" and r["topic"].endswith("checkin")
    assert store.count("rejected") == 1 and store.count() == 1


def test_on_stored_hook_sees_new_events_only_and_shares_the_transaction(store: CheckinStore) -> None:
    a, b = event(1), event(2)
    store.insert(a)
    seen: list[str] = []

    def hook(tx: Tx, stored: list[dict[str, Any]]) -> None:
        assert tx.engine == store.engine
        seen.extend(e["event_id"] for e in stored)
        # a row written through the hook's transaction is visible to it
        assert tx.execute("UPDATE checkins SET gate = ? WHERE event_id = ?", ("hooked", b["event_id"])) == 1

    assert store.store_batch([a, b], on_stored=hook) == ["duplicate", "stored"]
    assert seen == [b["event_id"]]
    assert {r["event_id"]: r["gate"] for r in store.checkins()}[b["event_id"]] == "hooked"


def test_a_failing_hook_rolls_the_whole_batch_back(store: CheckinStore) -> None:
    def hook(_tx: Tx, _stored: list[dict[str, Any]]) -> None:
        raise RuntimeError("notification table unavailable")

    with pytest.raises(RuntimeError):
        store.store_batch([event(1), event(2)], [Reject("t", "r", b"p", None)], on_stored=hook)
    assert store.count() == 0 and store.count("rejected") == 0
    assert store.store_batch([event(3)]) == ["stored"]  # the store is usable afterwards


def test_reads_by_day_and_order(store: CheckinStore) -> None:
    late = event(1, "2026-11-24T09:00:00.000Z")
    early = event(2, "2026-11-24T07:00:00.000Z")  # a gateway with a wrong clock: seq 2 before seq 1
    other_day = event(3, "2026-11-25T07:00:00.000Z")
    store.store_batch([late, early, other_day])
    assert [r["seq"] for r in store.checkins()] == [2, 1, 3]
    assert [r["seq"] for r in store.checkins(order="seq")] == [1, 2, 3]
    day = list(store.checkins("2026-11-24T00:00:00.000Z", "2026-11-25T00:00:00.000Z"))
    assert [r["seq"] for r in day] == [2, 1]


def test_retention_deletes_only_what_is_past(store: CheckinStore) -> None:
    old, keep = event(1, "2026-01-01T00:00:00.000Z"), event(2, "2026-11-24T07:00:00.000Z")
    other_school_old = event(3, "2026-01-01T00:00:00.000Z", site="s2")
    store.store_batch([old, keep, other_school_old])
    assert store.delete_before("2026-06-01T00:00:00.000Z", site_id="s1") == 1
    assert {r["seq"] for r in store.checkins()} == {2, 3}
    assert store.delete_before("2026-06-01T00:00:00.000Z") == 1
    assert [r["seq"] for r in store.checkins()] == [2]


def test_sqlite_files_are_private(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path / 'new' / 'c.sqlite'}")
    s.insert(event(1))
    s.close()
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "c.sqlite").stat().st_mode) == 0o600


def test_sqlite_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path / 'c.sqlite'}")
    s.store_batch([event(i) for i in range(50)])
    s.backup(tmp_path / "backup" / "copy.sqlite")
    s.close()
    con = sqlite3.connect(tmp_path / "backup" / "copy.sqlite")
    assert con.execute("SELECT count(*) FROM checkins").fetchone()[0] == 50
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert stat.S_IMODE((tmp_path / "backup" / "copy.sqlite").stat().st_mode) == 0o600


def test_urls() -> None:
    from edge.central.store import sqlite_path
    from edge.central.store.postgres import conninfo

    assert sqlite_path("sqlite:///var/c.sqlite") == "var/c.sqlite"
    assert sqlite_path("sqlite:////srv/c.sqlite") == "/srv/c.sqlite"
    assert sqlite_path("var/c.sqlite") == "var/c.sqlite"
    with pytest.raises(ValueError, match="unknown store URL"):
        open_store("mysql://x/y")
    import os

    os.environ["EDGE_TEST_PGPASS"] = "s3cret"
    assert conninfo("postgresql://edge:${EDGE_TEST_PGPASS}@db/edge") == "postgresql://edge:s3cret@db/edge"
    with pytest.raises(KeyError, match="EDGE_TEST_MISSING"):
        conninfo("postgresql://edge:${EDGE_TEST_MISSING}@db/edge")
