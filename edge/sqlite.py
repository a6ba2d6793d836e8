"""Opening the project's SQLite databases one way: WAL, and synchronous=FULL where a commit must survive a power cut."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils


def open_db(path: str | Path) -> tuple[sqlite3.Connection, sqlite_utils.Database]:
    """A connection usable from several threads (callers serialise access with their own lock), in autocommit
    mode: transactions only where the caller writes BEGIN ... COMMIT."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn, sqlite_utils.Database(conn)
