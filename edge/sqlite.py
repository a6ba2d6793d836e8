"""Opening the project's SQLite databases one way: WAL, and synchronous=FULL where a commit must survive a power cut."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlite_utils

from edge.security.private_files import private_dir, tighten_sqlite, touch_private


def _enter_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """PRAGMA journal_mode=WAL, retried: switching a new database to WAL takes an exclusive lock and SQLite answers
    'database is locked' at once, without its busy handler, when several processes open the same new file at the
    same moment (the demo's collector, notifier and web app; concurrent migrators)."""
    for i in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or i == attempts - 1:
                raise
            time.sleep(0.05)


def open_db(path: str | Path) -> tuple[sqlite3.Connection, sqlite_utils.Database]:
    """A connection usable from several threads (callers serialise access with their own lock), in autocommit
    mode: transactions only where the caller writes BEGIN ... COMMIT.

    The file (and its -wal/-shm, which SQLite creates with the same mode) is 0600 and a folder made here 0700:
    these databases hold names, card UIDs and attendance of minors."""
    private_dir(Path(path).parent)
    touch_private(path)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
    _enter_wal(conn)
    conn.execute("PRAGMA synchronous=FULL")
    tighten_sqlite(path)
    return conn, sqlite_utils.Database(conn)
