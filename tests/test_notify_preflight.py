"""`edge notify run` as its unit runs it refuses, exit 2 with a clear message, a store that does not hold the school
— a SQLite path with no file (and it creates none), a file never migrated, a migrated store without the school or
without students — on SQLite and PostgreSQL; on a store that holds it, it runs, and with no witness of the gates it
raises the "gates down" alarm: a WARNING in its log and edge_notify_gates_down{site} 1 on its metrics."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from edge.central.school import edits
from edge.central.school.files import import_central
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.config.central import load_central_config
from tests.helpers import wait_until
from tests.metrics_support import scrape
from tests.notify_support import central_text
from tests.web_support import free_port

REPO = Path(__file__).resolve().parent.parent


def run(config: Path, url: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "edge", "notify", "run", "-c", str(config), "--store", url, "--metrics", "off", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "central.yaml"
    path.write_text(central_text(tmp_path))
    return path


def test_a_missing_sqlite_store_is_refused_and_not_created(config: Path, tmp_path: Path) -> None:
    missing = tmp_path / "central.sqlite"  # the collector writes collector.sqlite: a unit file naming another
    r = run(config, f"sqlite:///{missing}")
    assert r.returncode == 2, r.stderr
    assert f"no store at {missing}: the notifier never creates one" in r.stderr
    assert "refusing to start" in r.stderr
    assert not missing.exists() and not Path(f"{missing}.notify.lock").exists()


def test_an_empty_sqlite_file_is_not_a_centre_store(config: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    r = run(config, f"sqlite:///{empty}")
    assert r.returncode == 2 and "is not migrated (it has no tables)" in r.stderr, r.stderr
    with sqlite3.connect(empty) as conn:  # not migrated behind the operator's back
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_store_without_the_school_or_its_students_is_refused(
    engine: str, config: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/centre.sqlite"
    if engine == "postgresql":
        url = request.getfixturevalue("postgres").fresh_database()
        r = run(config, url)  # a database that exists but was never migrated
        assert r.returncode == 2 and "is not migrated" in r.stderr, r.stderr
    open_store(url).close()  # migrated, no school
    r = run(config, url)
    assert r.returncode == 2 and "the store does not hold school 's1'" in r.stderr, r.stderr
    db = WebDb(url, pool_size=1)
    try:
        with db.transaction() as tx:
            edits.upsert_school(tx, "s1", name="Trường A", timezone="Asia/Ho_Chi_Minh")
    finally:
        db.close()
    r = run(config, url)
    assert r.returncode == 2 and "school 's1' has no students in the store" in r.stderr, r.stderr


def test_on_the_school_store_it_runs_and_raises_the_gates_down_alarm(config: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/centre.sqlite"
    open_store(url).close()
    web = WebDb(url, pool_size=1)  # the school in the store, as `edge school import` puts it
    try:
        import_central(web, load_central_config(config), today=date(2026, 9, 1))
    finally:
        web.close()
    port = free_port()
    log = tmp_path / "notify.log"
    cmd = [sys.executable, "-m", "edge", "notify", "run", "-c", str(config), "--store", url,
           "--metrics", f"127.0.0.1:{port}"]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=out, stderr=out)
    try:

        def down() -> bool:
            try:
                samples = scrape(f"http://127.0.0.1:{port}/metrics")[0]
            except OSError:
                return False
            # absent until the notifier's first pass has judged s1's gates (its metrics are served before that)
            return samples.get(("edge_notify_gates_down", frozenset({("site", "s1")}))) == 1.0

        wait_until(down, 60, "edge_notify_gates_down{site=s1} 1")
        wait_until(lambda: "GATES DOWN at s1" in log.read_text(), 30, "the alarm in the log")
        assert "no collector has ever reported to this store; no gateway is registered" in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
