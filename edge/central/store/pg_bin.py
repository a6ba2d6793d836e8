"""Where PostgreSQL's programs are: Debian keeps the server tools (initdb, pg_ctl, and the pg_dump matching each
server version) in /usr/lib/postgresql/<version>/bin, off PATH. The store's backup (pg_dump) needs it in
production; the throw-away test server (edge/devtools/postgres.py) needs it for initdb and pg_ctl."""

from __future__ import annotations

import shutil
from pathlib import Path


class PostgresMissing(RuntimeError):
    """A PostgreSQL program is not installed (scripts/bootstrap.sh --dev installs Debian's `postgresql`)."""


def find_pg_bin(name: str) -> str:
    """`name` from /usr/lib/postgresql/<newest>/bin (Debian keeps the server tools off PATH), else from PATH."""
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if found is None:
        raise PostgresMissing(f"{name} not found: install Debian's postgresql package (scripts/bootstrap.sh --dev)")
    return found
