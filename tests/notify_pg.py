"""A real PostgreSQL for the notification tests: initdb + pg_ctl on a free port in a temporary folder.

Stand-in until the central store's own PostgreSQL fixture (#8) lands; then the notify tests use that one.
PostgreSQL refuses to run as root: under root the server runs as the `postgres` user (runuser).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.devtools.mosquitto import free_port


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    return None


class PgServer:
    def __init__(self) -> None:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self._tmp = tempfile.TemporaryDirectory(prefix="edge-pg-")
        self.dir = Path(self._tmp.name)
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self._run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run([pg_ctl, "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "-t", "60", "start"])
        self._pg_ctl, self._data = pg_ctl, data
        self._n = 0
        self._lock = threading.Lock()

    def _run(self, cmd: list[str]) -> None:
        subprocess.run([*self._as, *cmd], check=True, capture_output=True, timeout=120)

    def dsn(self, db: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={db}"

    def fresh_database(self) -> str:
        import psycopg

        with self._lock:
            self._n += 1
            name = f"t{self._n}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)

    def stop(self) -> None:
        subprocess.run([*self._as, self._pg_ctl, "-D", str(self._data), "-m", "immediate", "stop"], check=False, timeout=60)
        self._tmp.cleanup()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    yield server
    server.stop()
