"""The demo's child processes: each `edge …` command the README documents, run as production runs it (its own
process, its own log file), started in one visible order and stopped in the reverse order by one ExitStack —
on a normal end and on SIGTERM, SIGINT or SIGHUP, however the demo was started (`StopSignals`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from edge.security.private_files import touch_private

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """Raised in the main thread by a stop signal: it unwinds the demo's ExitStack, which stops every child in the
    reverse order of their start. A KeyboardInterrupt, so code that already stops on Ctrl-C stops on it too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """SIGTERM, SIGINT and SIGHUP stop the demo cleanly, whatever it inherited: `nohup` ignores SIGHUP and a shell's
    `cmd &` ignores SIGINT, so a demo started in the background once exited on SIGTERM (the default action, no
    clean-up) and left Mosquitto, the collector, notifier, web app and gateway running under PID 1.

    The first signal raises Stopped; later ones are ignored, so the clean stop runs to its end. Inside `held()` (a
    process being started and registered for stopping) a signal waits until the block ends: raised in between, it
    would leave a process running that nobody stops. A flag, not pthread_sigmask: the kernel may hand a signal
    to any thread, but Python runs the handler in the main thread, which is the one that checks the flag."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._pending: int | None = None
        self._holding = 0
        self._previous: dict[int, object] = {}

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is not None:
            return
        if self._holding:
            self._pending = signum
            return
        self.signum = signum
        raise Stopped(signum)

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (a test calling the demo from a thread)
        for s in STOP_SIGNALS:
            self._previous[s] = signal.signal(s, self._handler)

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)  # type: ignore[arg-type]
        self._previous.clear()

    @contextmanager
    def held(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding and self._pending is not None and self.signum is None:
                self.signum, self._pending = self._pending, None
                raise Stopped(self.signum)


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
    """`python -m edge ARGS` with stdout+stderr in logs/NAME.log (0600: logs name students and gates)."""
    log = touch_private(logs / f"{name}.log")
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
