"""Numbered migrations: a database made by the pre-migration collector (today's schema, built here with the same
sqlite_utils calls edge/collector/store.py made) is upgraded without losing a row; both engines reach the same
version; running migrate again, or from two processes at once, changes nothing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from edge.central.store import open_store
from edge.central.store.migrate import latest_version, migrations
from edge.devtools.postgres import PostgresServer
from tests.store_support import make_legacy_db


@pytest.mark.parametrize("with_clock_column", [True, False])
def test_legacy_sqlite_database_is_upgraded_without_losing_a_row(tmp_path: Path, with_clock_column: bool) -> None:
    path = tmp_path / "old.sqlite"
    ids = make_legacy_db(path, 120, with_clock_column=with_clock_column)
    store = open_store(f"sqlite:///{path}", auto_migrate=False)
    assert store.schema_version() == 0
    applied = store.migrate()
    assert applied == [f"{m.version:04d}_{m.name}" for m in migrations("sqlite")[1:]]  # 0001 is the baseline
    assert store.schema_version() == latest_version()
    assert store.count() == 120 and store.count("rejected") == 1
    assert {r["event_id"] for r in store.checkins()} == set(ids)
    assert store.insert({**next(iter(store.checkins())), "schema_version": 1}) == "duplicate"
    store.reject("t", "schema: x", b"{}", ids[0])
    assert store.rejects()[-1]["event_id"] == ids[0]
    assert store.migrate() == []  # nothing pending
    store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT name FROM schema_migrations WHERE version=1").fetchone()[0].endswith("(baseline)")


def test_new_databases_reach_the_same_version_on_both_engines(tmp_path: Path, postgres: PostgresServer) -> None:
    sq = open_store(f"sqlite:///{tmp_path / 'n.sqlite'}")
    pg = open_store(postgres.fresh_database())
    try:
        assert sq.schema_version() == pg.schema_version() == latest_version() >= 2
        assert sq.migrate() == [] and pg.migrate() == []
    finally:
        sq.close()
        pg.close()


def test_concurrent_migrators_apply_each_migration_once(postgres: PostgresServer, tmp_path: Path) -> None:
    pg_url = postgres.fresh_database()
    for url in (pg_url, f"sqlite:///{tmp_path / 'c.sqlite'}"):
        results: list[list[str]] = []
        errors: list[BaseException] = []

        def run(u: str = url, results: list[list[str]] = results, errors: list[BaseException] = errors) -> None:
            try:
                s = open_store(u, auto_migrate=False)
                results.append(s.migrate())
                s.close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, name=f"migrator-{i}") for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        # each migration runs in its own locked transaction, so migrators may share the work between them;
        # what must hold is that every migration was applied once, by exactly one of them
        applied = sorted(name for r in results for name in r)
        assert len(results) == 3
        assert applied == [f"{m.version:04d}_{m.name}" for m in migrations("sqlite")]
        assert len(applied) == latest_version()


def test_every_migration_exists_for_both_engines() -> None:
    sq, pg = migrations("sqlite"), migrations("postgresql")
    assert [(m.version, m.name) for m in sq] == [(m.version, m.name) for m in pg]


def test_many_openers_of_a_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Switching a new file to WAL takes an exclusive lock, and SQLite says 'database is locked' at once (no busy
    handler) to the others: open_db retries it (the demo starts collector, notifier and web app together)."""
    from edge.sqlite import open_db

    errors: list[BaseException] = []
    for trial in range(20):
        path = tmp_path / f"new-{trial}.sqlite"

        def run(p: Path = path) -> None:
            try:
                conn, _ = open_db(p)
                conn.execute("CREATE TABLE IF NOT EXISTS t (a)")
                conn.close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, name=f"opener-{i}") for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert errors == []
