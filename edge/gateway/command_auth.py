"""The gateway's check of a remote command before it runs: signed by an operator or server of its site, fresh,
and never seen before (edge/contract/signing.py says what is signed).

Why the nonces live in SQLite: a replayed `open_gate` must be refused also after the gateway restarts, and the
gateway's database is already the durable, fsynced place on the device. A nonce is kept for twice the allowed
clock skew (plus a minute), after which its request is refused as stale anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509

from edge.contract.signing import SignatureRefused, Signer, verify_command
from edge.security.pki import PkiError, load_cert, load_crl_serials
from edge.sqlite import open_db

log = logging.getLogger(__name__)


class NonceStore:
    """Nonces of accepted commands, durable. `claim` is atomic: of two requests with one nonce, one wins."""

    def __init__(self, path: str | Path, keep_s: float) -> None:
        self.keep_s = keep_s
        self._conn, _ = open_db(path)
        self._lock = threading.Lock()
        self._conn.execute("CREATE TABLE IF NOT EXISTS command_nonces (nonce TEXT PRIMARY KEY, seen_at REAL NOT NULL)")
        self._conn.execute("CREATE INDEX IF NOT EXISTS command_nonces_seen ON command_nonces(seen_at)")

    def claim(self, nonce: str, now: float | None = None) -> bool:
        """True the first time `nonce` is seen (now remembered), False for a replay."""
        t = time.time() if now is None else now
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("DELETE FROM command_nonces WHERE seen_at < ?", (t - self.keep_s,))
                self._conn.execute("INSERT INTO command_nonces (nonce, seen_at) VALUES (?, ?)", (nonce, t))
            except sqlite3.IntegrityError:
                self._conn.execute("ROLLBACK")
                return False
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class CommandAuthorizer:
    """verify(command, request) -> Signer, or SignatureRefused with the reason.

    With `ca_path` None (a lab gateway on a plaintext broker, no site CA) nothing can be verified and every
    command is refused, unless the config turns signatures off explicitly (commands.require_signature: false)."""

    def __init__(
        self,
        *,
        site: str,
        gateway: str,
        ca_path: str | Path | None,
        crl_path: str | Path | None,
        nonces: NonceStore,
        max_skew_s: float,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.site = site
        self.gateway = gateway
        self.ca: x509.Certificate | None = load_cert(Path(ca_path)) if ca_path else None
        self.crl_path = Path(crl_path) if crl_path else None
        self.nonces = nonces
        self.max_skew_s = max_skew_s
        self.clock = clock
        self._crl_mtime: float | None = None
        self._revoked: frozenset[int] = frozenset()
        self.refused = 0
        self.refused_reasons: dict[str, int] = {}

    def _revoked_serials(self) -> frozenset[int]:
        """The CRL, re-read when the file changes (a revocation reaches a running gateway without a restart).
        An unreadable CRL keeps the last good list and is logged."""
        if self.crl_path is None or self.ca is None:
            return frozenset()
        try:
            mtime = self.crl_path.stat().st_mtime
            if mtime != self._crl_mtime:
                self._revoked = frozenset(load_crl_serials(self.crl_path, self.ca))
                self._crl_mtime = mtime
        except (OSError, PkiError) as exc:
            log.error("command signer CRL %s unreadable, keeping the last one: %s", self.crl_path, exc)
        return self._revoked

    def verify(self, command: str, request: dict[str, Any]) -> Signer:
        try:
            if self.ca is None:
                raise SignatureRefused("no site CA configured (broker.tls.ca): signed commands cannot be verified")
            signer = verify_command(
                site=self.site,
                gateway=self.gateway,
                command=command,
                request=request,
                ca_cert=self.ca,
                now=self.clock(),
                max_skew_s=self.max_skew_s,
                revoked_serials=self._revoked_serials(),
            )
            if not self.nonces.claim(str(request["nonce"])):
                raise SignatureRefused("replayed command: this nonce was already used")
        except SignatureRefused as exc:
            self.refused += 1
            key = str(exc).split(":", maxsplit=1)[0][:40]
            self.refused_reasons[key] = self.refused_reasons.get(key, 0) + 1
            raise
        return signer
