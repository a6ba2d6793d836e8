"""A private Mosquitto broker on a free loopback port, owned by its caller (demo, tests, chaos runs)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from edge.security.broker_config import BrokerFiles, refresh_acl_and_crl, write_broker_config
from edge.security.pki import Pki, Role, TlsFiles


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
    """`with MosquittoBroker(workdir) as b:` ... b.port; stop()/start() to simulate an outage.

    Closed by default, as production runs it (edge/security/broker_config.py): TLS with client certificates from
    a throwaway site PKI in `workdir/pki` (or the `pki` given), the per-identity ACL, no anonymous clients.
    `identity(name, role)` issues a client's certificate and reloads the ACL. `insecure_plaintext=True` is the
    old open broker, for the few callers that measure what TLS costs."""

    def __init__(
        self,
        workdir: str | Path,
        port: int | None = None,
        *,
        persistence: bool = False,
        site: str = "test-school",
        pki: Pki | None = None,
        insecure_plaintext: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.persistence = persistence
        self.insecure_plaintext = insecure_plaintext
        self.conf = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.pki: Pki | None = None
        self._files: BrokerFiles | None = None
        if not insecure_plaintext:
            self.pki = pki or Pki(self.workdir / "pki")
            self.pki.init(site)

    @property
    def site(self) -> str:
        if self.pki is None:
            raise RuntimeError("a plaintext broker has no site PKI")
        return self.pki.site

    def _write_conf(self) -> None:
        if self.pki is not None:
            self._files = write_broker_config(
                self.pki,
                self.workdir / "etc",
                port=self.port,
                bind=self.host,
                persistence=self.persistence,
                run_as=pwd.getpwuid(os.getuid()).pw_name,  # our own files, 0600: no drop to 'mosquitto'
            )
            shutil.copyfile(self._files.conf, self.conf)
            return
        lines = [
            "# INSECURE: plaintext, anonymous clients (insecure_plaintext)",
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

    def identity(self, name: str, role: Role = "gateway") -> TlsFiles | None:
        """TLS files for a client `name` with `role` (issued once; the broker reloads its ACL when it is new).
        None on a plaintext broker, so callers can pass the result straight to MqttSettings.tls."""
        if self.pki is None:
            return None
        if self.pki.get(name) is None:
            self.pki.issue(name, role)
            self.reload()
        return self.pki.tls_files(name)

    def client_config(self, name: str, role: Role = "gateway") -> dict[str, Any]:
        """The `broker:` config section (edge/config/model.py BrokerConfig) for client `name` on this broker."""
        tls = self.identity(name, role)
        if tls is None or self.pki is None:
            return {"host": self.host, "port": self.port, "insecure_plaintext": True}
        files = {"ca": str(tls.ca), "cert": str(tls.cert), "key": str(tls.key), "crl": str(self.pki.crl_path)}
        return {"host": self.host, "port": self.port, "tls": files}

    def collector_args(self, name: str) -> list[str]:
        """`edge collector run` options that connect collector `name` to this broker."""
        args = ["--host", self.host, "--port", str(self.port), "--id", name]
        if self.pki is None:
            return [*args, "--insecure-plaintext"]
        self.identity(name, "collector")
        return [*args, "--pki", str(self.pki.dir), "--identity", name]

    def revoke(self, name: str) -> None:
        """Revoke `name` and make the broker read the new CRL and ACL."""
        assert self.pki is not None
        self.pki.revoke(name)
        self.reload()

    def reload(self, timeout: float = 10.0) -> None:
        """Rewrite the ACL and CRL from the PKI and make a running broker read them (SIGHUP), returning once it
        has. Mosquitto 2 reads the ACL and its listeners' CRL again on SIGHUP (tests/test_security_attacks.py shows
        a revoked client refused and a valid one accepted after it): what a site does after `edge pki revoke`."""
        if self.pki is None or self._files is None:
            return
        refresh_acl_and_crl(self.pki, self._files)
        if not self.running:
            return
        offset = self.log.stat().st_size if self.log.exists() else 0
        assert self._proc is not None
        self._proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.log.open("rb") as f:
                f.seek(offset)
                if b"Reloading config" in f.read():
                    return
            time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not reload within {timeout}s; see {self.log}")

    def log_offset(self) -> int:
        """Where the broker's log ends now: `forget_sessions(since=…)` looks at what was logged after it."""
        return self.log.stat().st_size if self.log.exists() else 0

    def clients_since(self, offset: int) -> set[str]:
        """The client ids the broker logged as connecting after log offset `offset` (see log_offset)."""
        import re

        if not self.log.exists():
            return set()
        with self.log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        return set(re.findall(r"New client connected from \S+ as (\S+) \(", text))

    @property
    def broker_dir(self) -> Path:
        """The broker folder as `edge broker config` writes it (with broker.json): what `edge provision gateway
        --broker-dir` and `edge pki revoke --broker-dir` rewrite and reload."""
        return self.workdir / "etc"

    def _record_reload(self) -> None:
        """A PID file for this process (Mosquitto writes none in the foreground) and broker.json naming it, so the
        tools reload THIS broker with SIGHUP as they reload a site's."""
        if self.pki is None or self._proc is None:
            return
        from edge.security.broker_reload import BrokerDeployment, save

        pidfile = self.workdir / "mosquitto.pid"
        pidfile.write_text(f"{self._proc.pid}\n")
        save(BrokerDeployment(self.broker_dir, self.pki.dir, pidfile=pidfile, host=self.host, port=self.port))

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
        self._record_reload()
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
