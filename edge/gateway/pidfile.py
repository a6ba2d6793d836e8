"""The running gateway's pid, next to its database (`gateway.pid`), so that `edge doctor` can tell whether the
gateway runs on this machine without asking systemd (a gateway started by hand, a container).

Why the doctor needs to know: the broker binds the client id to the certificate, so the doctor's publish probe
connects AS the gateway and would replace a running gateway's session for a moment (edge/gateway/doctor.py). A stale
file (a kill -9, a power cut) names a pid that no longer runs, or another program's: `running` checks that the pid
is alive and is an `edge` process."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

NAME = "gateway.pid"


def path_for(database: str | Path) -> Path:
    return Path(database).with_name(NAME)


def write(database: str | Path) -> Path:
    path = path_for(database)
    tmp = path.with_suffix(".pid.tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="ascii")
    os.replace(tmp, path)
    return path


def remove(database: str | Path) -> None:
    path = path_for(database)
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text(encoding="ascii").strip()) == os.getpid():
            path.unlink()


def running(database: str | Path) -> bool:
    """A live process named in the file, whose command line is an edge gateway (not a recycled pid)."""
    try:
        pid = int(path_for(database).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"edge" in cmdline and b"gateway" in cmdline
