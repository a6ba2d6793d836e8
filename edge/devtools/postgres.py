"""A real PostgreSQL server for tests and benchmarks: Debian's `initdb` + `pg_ctl` in a temporary folder on a free
port, owned and stopped by its caller (like edge.devtools.mosquitto).

Why not the machine's own PostgreSQL: tests must not depend on (or damage) a server somebody else runs, and a
throw-away cluster can run with fsync off. PostgreSQL refuses to run as root; under root the server runs as the
`postgres` user (runuser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from edge.central.store.pg_bin import find_pg_bin
from edge.devtools.mosquitto import free_port


class PostgresServer:
    """Start with `.start()` (or a `with` block); `.url(db)` is a postgresql:// URL for edge.central.store."""

    def __init__(self, *, fsync: bool = False, max_connections: int = 200) -> None:
        self._initdb, self._pg_ctl = find_pg_bin("initdb"), find_pg_bin("pg_ctl")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.dir = Path()
        self.port = 0
        self._fsync = fsync
        self._max_connections = max_connections
        self._as: list[str] = []
        self._n = 0
        self._lock = threading.Lock()

    def _run(self, cmd: list[str]) -> None:
        subprocess.run([*self._as, *cmd], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        self._tmp = tempfile.TemporaryDirectory(prefix="edge-pg-")
        self.dir = Path(self._tmp.name)
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self._run([self._initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections={self._max_connections}"
            f" -c fsync={'on' if self._fsync else 'off'}"
        )
        self._run([self._pg_ctl, "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "-t", "60", "start"])
        return self

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def dsn(self, db: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={db}"

    def fresh_database(self) -> str:
        """A new empty database; returns its postgresql:// URL."""
        import psycopg

        with self._lock:
            self._n += 1
            name = f"t{self._n}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self._tmp is None:
            return
        subprocess.run(
            [*self._as, self._pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
            timeout=60,
        )
        self._tmp.cleanup()
        self._tmp = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
