"""`edge db migrate | backup | retention` on real databases: a backup taken while a writer keeps committing is
consistent; retention removes exactly the check-ins past the period; pg_dump for PostgreSQL."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from edge.central.store import open_store
from edge.central.store.migrate import latest_version
from edge.cli import cli
from edge.contract.checkin import rfc3339_ms
from edge.devtools.postgres import PostgresServer
from tests.store_support import event, make_legacy_db


def test_migrate_command_upgrades_a_legacy_database(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    make_legacy_db(db, 10)
    r = CliRunner().invoke(cli, ["db", "migrate", "--store", f"sqlite:///{db}"])
    assert r.exit_code == 0, r.output
    assert f"schema version 0 -> {latest_version()}" in r.output
    r = CliRunner().invoke(cli, ["db", "migrate", "--store", f"sqlite:///{db}"])
    assert "applied: none" in r.output
    assert open_store(str(db)).count() == 10


def test_backup_while_a_writer_commits(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    store = open_store(str(db))
    store.store_batch([event(i) for i in range(1, 201)])
    stop = threading.Event()
    written = [200]

    def writer() -> None:
        seq = 1000
        while not stop.is_set():
            store.store_batch([event(seq + i) for i in range(20)])
            seq += 20
            written[0] += 20

    t = threading.Thread(target=writer, name="test-writer")
    t.start()
    try:
        r = CliRunner().invoke(cli, ["db", "backup", "--store", str(db), str(tmp_path / "bk" / "copy.sqlite")])
    finally:
        stop.set()
        t.join(30)
    assert r.exit_code == 0, r.output
    con = sqlite3.connect(tmp_path / "bk" / "copy.sqlite")
    n = con.execute("SELECT count(*) FROM checkins").fetchone()[0]
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert 200 <= n <= written[0] and n % 20 == 0  # whole batches only: a transaction is in or out
    con.close()
    assert stat.S_IMODE((tmp_path / "bk" / "copy.sqlite").stat().st_mode) == 0o600
    store.close()


def test_retention_command(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    store = open_store(str(db))
    now = datetime.now(UTC)
    store.store_batch(
        [
            event(1, rfc3339_ms(now - timedelta(days=400))),
            event(2, rfc3339_ms(now - timedelta(days=31))),
            event(3, rfc3339_ms(now - timedelta(days=29))),
            event(4, rfc3339_ms(now - timedelta(days=400)), site="s2"),
        ]
    )
    store.close()
    r = CliRunner().invoke(cli, ["db", "retention", "--store", str(db), "--keep-days", "30", "--site", "s1"])
    assert r.exit_code == 0, r.output
    assert "deleted 2 check-in(s)" in r.output
    assert sorted(r["seq"] for r in open_store(str(db)).checkins()) == [3, 4]
    r = CliRunner().invoke(cli, ["db", "retention", "--store", str(db), "--keep-days", "0"])
    assert r.exit_code == 2
    r = CliRunner().invoke(cli, ["db", "retention", "--store", str(tmp_path / "typo.sqlite"), "--keep-days", "30"])
    assert r.exit_code == 2 and "no database" in r.output and not (tmp_path / "typo.sqlite").exists()


def test_postgresql_backup_is_a_pg_dump(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.fresh_database()
    store = open_store(url)
    store.store_batch([event(i) for i in range(1, 11)])
    store.close()
    r = CliRunner().invoke(cli, ["db", "backup", "--store", url, str(tmp_path / "dump.pgc")])
    assert r.exit_code == 0, r.output
    dump = (tmp_path / "dump.pgc").read_bytes()
    assert dump.startswith(b"PGDMP") and b"checkins" in dump
    assert stat.S_IMODE((tmp_path / "dump.pgc").stat().st_mode) == 0o600
