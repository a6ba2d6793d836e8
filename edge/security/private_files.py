"""Files that hold personal data, biometric templates or keys are created readable by their owner only.

Why here and not with umask: a umask is process-wide and would also tighten files other libraries write; these
helpers set the mode on exactly the files and folders the project owns, at creation, so there is no window in
which a key or a database is world-readable."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: str | Path) -> Path:
    """Create `path` (and missing parents) 0700. An existing folder the project did not create is left as it is,
    except that a folder we just made is always 0700."""
    p = Path(path)
    missing = []
    cur = p
    while not cur.exists():
        missing.append(cur)
        cur = cur.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=PRIVATE_DIR)
        os.chmod(d, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    return p


def touch_private(path: str | Path) -> Path:
    """Make sure `path` exists with mode 0600 (created so, or tightened if it already exists), its folder 0700
    when we create that folder."""
    p = Path(path)
    private_dir(p.parent)
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    os.close(fd)
    os.chmod(p, PRIVATE_FILE)
    return p


def write_private(path: str | Path, data: bytes) -> Path:
    """Write `data` atomically (temp file + rename in the same folder) with mode 0600 from the first byte."""
    p = Path(path)
    private_dir(p.parent)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, PRIVATE_FILE)
    os.replace(tmp, p)
    return p


def sqlite_files(path: str | Path) -> list[Path]:
    """A SQLite database and its WAL/shm companions (which hold the same data)."""
    p = Path(path)
    return [p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")]


def tighten_sqlite(path: str | Path) -> None:
    """0600 on a database and the companions that exist (SQLite creates -wal/-shm with the main file's mode, but a
    database made by an older version of this project was 0644)."""
    for f in sqlite_files(path):
        if f.exists():
            os.chmod(f, PRIVATE_FILE)


def write_atomic(path: str | Path, data: bytes, mode: int = 0o644) -> Path:
    """Replace `path` with `data` so that every reader sees the whole old file or the whole new one, never a torn
    one (a half-written CRL makes the broker refuse every client): a temporary file in the same folder, written
    and fsynced, renamed over the old one, the folder fsynced. The file keeps its current mode (else `mode`)."""
    p = Path(path)
    keep = p.stat().st_mode & 0o777 if p.exists() else mode
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_EXCL, keep)
    try:
        os.write(fd, data)
        os.fchmod(fd, keep)  # the umask filtered os.open's mode
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, p)
    dir_fd = os.open(p.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return p
