"""A private Mosquitto broker on a free loopback port, owned by its caller (demo, tests, chaos runs)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str:
    path = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise FileNotFoundError(
            "mosquitto not found: install it with 'apt-get install mosquitto' (scripts/bootstrap.sh does)"
        )
    return path


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return True
        time.sleep(0.05)
    return False


class MosquittoBroker:
    """`with MosquittoBroker(workdir) as b:` ... b.port; stop()/start() to simulate an outage."""

    def __init__(self, workdir: str | Path, port: int | None = None, *, persistence: bool = False) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.persistence = persistence
        self.conf = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _write_conf(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_queued_messages 100000",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> MosquittoBroker:
        if self.running:
            return self
        self._write_conf()
        logf = self.log.open("ab")
        self._proc = subprocess.Popen(
            [find_mosquitto(), "-c", str(self.conf)], stdout=logf, stderr=logf, stdin=subprocess.DEVNULL
        )
        logf.close()
        # The port may still be in TIME_WAIT from the previous run: give mosquitto a few tries.
        if not wait_for_port(self.host, self.port, timeout) or not self.running:
            self.stop()
            raise RuntimeError(f"mosquitto did not start on port {self.port}; see {self.log}")
        return self

    def stop(self, timeout: float = 5.0, *, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
