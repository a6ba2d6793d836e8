"""The district store: PostgreSQL through psycopg 3 and a psycopg_pool connection pool.

A batch is one transaction: COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING
RETURNING event_id — a few round trips whatever the batch size, and the returned ids say which events were new. Several
collector processes write at the same time (row locks on distinct keys), which is what lets the centre grow by
adding collectors. The URL's password, if any, comes from the environment: `${VAR}` in the URL is replaced, and
libpq itself reads PGPASSWORD / ~/.pgpass."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from edge.central.store import migrate
from edge.central.store.base import (
    ROW_COLUMNS,
    CheckinStore,
    OnStored,
    Order,
    Outcome,
    Reject,
    checkin_row,
    reject_row,
    split_batch_duplicates,
)
from edge.central.store.dialect import placeholders
from edge.security.private_files import touch_private

_COLS = ", ".join(ROW_COLUMNS)
# the batch's columns only (not LIKE checkins): columns a migration adds with NOT NULL and a default, such as
# 0004's ingest_id, must get their value when the row reaches checkins, not in the staging table
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_checkins ON COMMIT DELETE ROWS AS "
    f"SELECT {_COLS} FROM checkins WITH NO DATA"
)
_COPY = f"COPY staged_checkins ({_COLS}) FROM STDIN"
_FROM_STAGING = (
    f"INSERT INTO checkins ({_COLS}) SELECT {_COLS} FROM staged_checkins "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)
_REJECT = "INSERT INTO rejected (received_at, topic, reason, payload, event_id) VALUES (%s, %s, %s, %s, %s)"


class _PgTx:
    engine = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self.raw.execute(placeholders(sql, "postgresql").encode(), tuple(params))
        return cur.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(placeholders(sql, "postgresql").encode(), rows)


def conninfo(url: str) -> str:
    """The libpq URL with ${VAR} replaced from the environment (a missing variable is an error, not '')."""
    out = url
    while "${" in out:
        start = out.index("${")
        end = out.index("}", start)
        name = out[start + 2 : end]
        if name not in os.environ:
            raise KeyError(f"environment variable {name} (named in the store URL) is not set")
        out = out[:start] + os.environ[name] + out[end + 1 :]
    return out


class PostgresStore(CheckinStore):
    engine = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4, auto_migrate: bool = True) -> None:
        self.url = url
        self._conninfo = conninfo(url)
        self._pool = ConnectionPool(
            self._conninfo, min_size=1, max_size=pool_size, open=True, name="edge-store", timeout=30
        )
        self._pool.wait(timeout=30)
        self._lock = threading.Lock()
        if auto_migrate:
            self.migrate()

    def migrate(self) -> list[str]:
        with self._pool.connection() as conn:
            return migrate.migrate_postgres(conn)

    def schema_version(self) -> int:
        with self._pool.connection() as conn:
            return migrate.pg_version(conn)

    def store_batch(
        self,
        checkins: Sequence[dict[str, Any]],
        rejects: Sequence[Reject] = (),
        on_stored: OnStored | None = None,
    ) -> list[Outcome]:
        now = time.time()
        outcomes: list[Outcome] = ["duplicate"] * len(checkins)
        firsts, _ = split_batch_duplicates(checkins)
        with self._pool.connection() as conn, conn.transaction():
            new: set[str] = set()
            if firsts:
                new = self._insert(conn, [checkin_row(checkins[i], now) for i in firsts])
            if rejects:
                with conn.cursor() as cur2:
                    cur2.executemany(_REJECT, [reject_row(r, now) for r in rejects])
            stored = []
            for i in firsts:
                if checkins[i]["event_id"] in new:
                    outcomes[i] = "stored"
                    stored.append(checkins[i])
            if on_stored is not None and stored:
                on_stored(_PgTx(conn), stored)
        return outcomes

    @staticmethod
    def _insert(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> set[str]:
        """COPY the batch into a per-connection temporary table (psycopg's C COPY writer), then one INSERT ...
        SELECT ... ON CONFLICT DO NOTHING RETURNING event_id: the ids returned are the new events. (Arrays through
        unnest() were simpler, but psycopg dumps arrays in Python: a fifth of the collector's time.)"""
        conn.execute(_STAGING)
        with conn.cursor() as cur:
            with cur.copy(_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
            return {r[0] for r in cur.execute(_FROM_STAGING).fetchall()}

    def count(self, table: Literal["checkins", "rejected"] = "checkins") -> int:
        if table not in ("checkins", "rejected"):
            raise ValueError(table)
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0

    def checkins(
        self, since: str | None = None, until: str | None = None, order: Order = "time"
    ) -> Iterator[dict[str, Any]]:
        by = "occurred_at, gateway_id, seq" if order == "time" else "gateway_id, seq"
        sql = (
            "SELECT * FROM checkins WHERE (%(s)s::text IS NULL OR occurred_at >= %(s)s) "
            f"AND (%(u)s::text IS NULL OR occurred_at < %(u)s) ORDER BY {by}"
        )
        with self._pool.connection() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(sql.encode(), {"s": since, "u": until}).fetchall()
        yield from rows

    def rejects(self) -> list[dict[str, Any]]:
        with self._pool.connection() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute("SELECT * FROM rejected ORDER BY id").fetchall()

    def delete_before(self, cutoff: str, site_id: str | None = None) -> int:
        from edge.central.store.retention import cutoff_epoch

        with self._pool.connection() as conn, conn.transaction():
            cur = conn.execute(
                "DELETE FROM checkins WHERE occurred_at < %s AND (%s::text IS NULL OR site_id = %s)",
                (cutoff, site_id, site_id),
            )
            if site_id is None:
                conn.execute("DELETE FROM rejected WHERE received_at < %s", (cutoff_epoch(cutoff),))
            return cur.rowcount

    def backup(self, dest: Path) -> None:
        """pg_dump in its custom format (restore with pg_restore): a consistent snapshot of one transaction."""
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            from edge.central.store.pg_bin import find_pg_bin

            pg_dump = find_pg_bin("pg_dump")
        touch_private(dest)
        # the password goes in pg_dump's environment, not its argv: any user can read a process's argv (ps,
        # /proc/PID/cmdline), only its owner and root its environment
        params = conninfo_to_dict(self._conninfo)
        password = params.pop("password", None)
        env = dict(os.environ, PGPASSWORD=str(password)) if password else None
        subprocess.run(
            [pg_dump, "--format=custom", "--file", str(dest), make_conninfo("", **params)], check=True, timeout=3600,
            env=env,
        )  # fmt: skip

    def close(self) -> None:
        self._pool.close()
