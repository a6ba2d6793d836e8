"""Numbered schema migrations, one SQL file per engine: migrations/NNNN_name.sqlite.sql and
NNNN_name.postgresql.sql (both must exist). Each is applied once, in its own transaction together with its row in
`schema_migrations`; `edge db migrate` (and a collector at start) applies the pending ones.

Why a small runner and not Alembic: the schema is a handful of tables written in plain SQL per engine, and the
runner is 100 lines the team can read; Alembic would bring SQLAlchemy only for this. To add a table (e.g. the
notification jobs), add the next number for both engines — never edit a migration that has shipped.

A SQLite database made before migrations existed (a `checkins` table, no `schema_migrations`) is brought to
version 1 by `baseline_legacy` (the column it may lack is added) and recorded as such, then upgraded normally."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sqlite|postgresql)\.sql$")
ENGINES = ("sqlite", "postgresql")
PG_LOCK_KEY = 0x6564676531  # pg_advisory_xact_lock: one migrator at a time when several collectors start


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(engine: str) -> list[Migration]:
    """Every migration for `engine`, by version; a number missing for either engine is an error."""
    found: dict[str, dict[int, tuple[str, str]]] = {e: {} for e in ENGINES}
    for entry in resources.files("edge.central.store").joinpath("migrations").iterdir():
        m = _NAME.match(entry.name)
        if m is None:
            continue
        version, name, eng = int(m[1]), m[2], m[3]
        if version in found[eng]:
            raise RuntimeError(f"two {eng} migrations numbered {version:04d}")
        found[eng][version] = (name, entry.read_text(encoding="utf-8"))
    if set(found["sqlite"]) != set(found["postgresql"]):
        raise RuntimeError("every migration needs a .sqlite.sql and a .postgresql.sql file with the same number")
    versions = sorted(found[engine])
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migration numbers must run 1..N without gaps: {versions}")
    return [Migration(v, *found[engine][v]) for v in versions]


def latest_version() -> int:
    return len(migrations("sqlite"))


# SQLite ------------------------------------------------------------------------------------------------------
_SQLITE_TABLE = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)"


def _sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def sqlite_version(conn: sqlite3.Connection) -> int:
    if "schema_migrations" not in _sqlite_tables(conn):
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def baseline_legacy(conn: sqlite3.Connection) -> bool:
    """A pre-migration collector database becomes version 1 (True if it was one)."""
    tables = _sqlite_tables(conn)
    if "schema_migrations" in tables or "checkins" not in tables:
        return False
    first = migrations("sqlite")[0]
    conn.execute("BEGIN IMMEDIATE")
    try:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(checkins)")}
        if "clock_unsynced" not in cols:  # databases made before that column
            conn.execute("ALTER TABLE checkins ADD COLUMN clock_unsynced INTEGER")
        conn.execute("CREATE INDEX IF NOT EXISTS idx_checkins_gateway_id_seq ON checkins (gateway_id, seq)")
        conn.execute("CREATE INDEX IF NOT EXISTS idx_checkins_occurred_at ON checkins (occurred_at)")
        if "rejected" not in tables:
            conn.execute(
                "CREATE TABLE rejected (id INTEGER PRIMARY KEY, received_at FLOAT, topic TEXT, reason TEXT, "
                "payload TEXT)"
            )
        conn.execute(_SQLITE_TABLE)
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, ?)", (first.version, f"{first.name} (baseline)", time.time())
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def migrate_sqlite(conn: sqlite3.Connection) -> list[str]:
    """`conn` in autocommit mode (isolation_level=None)."""
    baseline_legacy(conn)
    conn.execute(_SQLITE_TABLE)
    applied: list[str] = []
    for m in migrations("sqlite"):
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: a second migrator waits, then sees the row
        try:
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version=?", (m.version,)).fetchone():
                conn.execute("COMMIT")
                continue
            for statement in _statements(m.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (m.version, m.name, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(f"{m.version:04d}_{m.name}")
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3 runs one per execute; executescript would commit on its own).
    Migrations hold no ';' inside strings or triggers: sqlite3.complete_statement checks each piece."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    out: list[str] = []
    buf = ""
    for part in "\n".join(lines).split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf.strip())
            buf = ""
    return out


# PostgreSQL --------------------------------------------------------------------------------------------------
_PG_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at DOUBLE PRECISION)"
)


def pg_version(conn: Any) -> int:
    row = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if row[0] is None:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])


def migrate_postgres(conn: Any) -> list[str]:
    """`conn`: a psycopg Connection (not in a transaction)."""
    applied: list[str] = []
    for m in migrations("postgresql"):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_LOCK_KEY,))
            conn.execute(_PG_TABLE)
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version=%s", (m.version,)).fetchone():
                continue
            conn.execute(m.sql.encode())  # no parameters: the simple protocol runs several statements
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)", (m.version, m.name, time.time()))
        applied.append(f"{m.version:04d}_{m.name}")
    return applied
