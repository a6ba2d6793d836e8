"""Opening the project's SQLite databases one way: WAL, and synchronous=FULL where a commit must survive a power cut."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from edge.security.private_files import private_dir, tighten_sqlite, touch_private


def open_db(path: str | Path) -> tuple[sqlite3.Connection, sqlite_utils.Database]:
    """A connection usable from several threads (callers serialise access with their own lock), in autocommit
    mode: transactions only where the caller writes BEGIN ... COMMIT.

    The file (and its -wal/-shm, which SQLite creates with the same mode) is 0600 and a folder made here 0700:
    these databases hold names, card UIDs and attendance of minors."""
    private_dir(Path(path).parent)
    touch_private(path)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    tighten_sqlite(path)
    return conn, sqlite_utils.Database(conn)
