"""The web app's own connection to the central store's database, for its tables (users, sessions, audit, excuses)
and its read queries (a day's check-ins by school and person).

Why not the CheckinStore: its interface speaks check-in ingest (store_batch, checkins by time range); the web app
needs indexed reads by school/person and small writes. It opens its own connections to the same URL instead of
reaching into the store's private ones: SQLite in WAL lets readers run beside the collector's writer, one
connection per thread; PostgreSQL gets its own small pool. SQL is written with `?` placeholders on both engines.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from edge.central.store import sqlite_path
from edge.central.store.dialect import placeholders

Engine = Literal["sqlite", "postgresql"]


class WebTx:
    """An open transaction: `execute` returns the row count, `query` the rows as dicts."""

    def __init__(self, conn: Any, engine: Engine) -> None:
        self.conn = conn
        self.engine = engine

    def _sql(self, sql: str) -> str:
        return placeholders(sql, self.engine)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self.conn.execute(self._sql(sql), tuple(params))
        return int(cur.rowcount)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(self._sql(sql), tuple(params))
        if cur.description is None:
            return []
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class WebDb:
    """Connections to the store's database for the web app. Thread-safe."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = url
        self.engine: Engine
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool: Any = None
        if url.startswith(("postgresql://", "postgres://")):
            from psycopg_pool import ConnectionPool

            from edge.central.store.postgres import conninfo

            self.engine = "postgresql"
            # autocommit: a read is one round trip (SELECT), not three (BEGIN, SELECT, and the COMMIT the pool's
            # context manager sends): SELECT 1 p50 0.44 -> 0.24 ms on this 2-core machine at load average 7.5, and
            # a parents' page makes 5-8 of them; writes go through transaction() (BEGIN/COMMIT, as before) or
            # the notifier's functions that expect autocommit connections (push_subscriptions, jobs).
            self._pool = ConnectionPool(
                conninfo(url),
                min_size=1,
                max_size=pool_size,
                open=True,
                name="edge-web",
                kwargs={"autocommit": True},
            )
            self._pool.wait(timeout=30)
        else:
            self.engine = "sqlite"
            self.path = Path(sqlite_path(url))

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[WebTx]:
        """One transaction (SQLite: BEGIN IMMEDIATE, so a read-then-write cannot race another writer)."""
        if self.engine == "sqlite":
            conn = self._sqlite()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield WebTx(conn, "sqlite")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        else:
            with self._pool.connection() as pconn, pconn.transaction():
                yield WebTx(pconn, "postgresql")

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A raw driver connection (for modules that take (conn, dialect), e.g. notify.jobs.notices_of)."""
        if self.engine == "sqlite":
            yield self._sqlite()
        else:
            with self._pool.connection() as pconn:
                yield pconn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self.engine == "sqlite":
            return WebTx(self._sqlite(), "sqlite").query(sql, params)
        with self._pool.connection() as pconn:
            return WebTx(pconn, "postgresql").query(sql, params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.transaction() as tx:
            return tx.execute(sql, params)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        with self._lock:
            for c in self._all:
                c.close()
            self._all.clear()
