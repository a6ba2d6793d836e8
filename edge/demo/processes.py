"""The demo's child processes: each `edge …` command the README documents, run as production runs it (its own
process, its own log file), started in one visible order and stopped in the reverse order by one ExitStack.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (a clean stop: outboxes flushed, statuses 'stopped'), SIGKILL only if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(name: str, args: list[str], logs: Path) -> Child:
    """`python -m edge ARGS` with stdout+stderr in logs/NAME.log."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", *args],
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            # its own session: Ctrl-C at the terminal reaches the demo only, which then stops every child in order
            start_new_session=True,
        )
    return Child(name, proc, log)


def run_edge(args: list[str], stdin: str | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """A one-shot `edge …` command (user administration, …); raises with its output when it fails."""
    res = subprocess.run(
        [sys.executable, "-m", "edge", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(f"`edge {' '.join(args)}` failed ({res.returncode}): {res.stdout}{res.stderr}")
    return res


def wait_http(url: str, child: Child, timeout: float) -> None:
    """Until `url` answers (any HTTP status), or the child dies, or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited ({child.proc.returncode}):\n{child.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not answer at {url} within {timeout:.0f}s:\n{child.tail()}")
