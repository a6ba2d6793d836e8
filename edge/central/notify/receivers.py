"""Real local receivers for the channels — an HTTP server (webhook with signature check and idempotency, SMS
gateway) and an SMTP server with STARTTLS (aiosmtpd, a test/bench dependency) — for the tests and
`edge bench notify`. They count every notice they receive, so "0 lost, 0 duplicated" is counted at the receiving
end, not inferred from the sender's bookkeeping.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from edge import jsonstrict
from edge.central.notify.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    key: str
    body: dict[str, Any]
    headers: dict[str, str]
    at_monotonic: float
    duplicate: bool
    at_wall: float = 0.0
    """time.time() on arrival: compared with a job's created_at (also time.time()) for latency."""


@dataclass
class _Tally:
    received: list[Received] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    cond: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.cond = threading.Condition(self.lock)

    def add(self, key: str, body: dict[str, Any], headers: dict[str, str]) -> Received:
        with self.cond:
            dup = key in self.keys
            self.keys[key] = self.keys.get(key, 0) + 1
            r = Received(key, body, headers, time.monotonic(), dup, time.time())
            self.received.append(r)
            self.cond.notify_all()
            return r

    def wait_for(self, n: int, timeout: float) -> bool:
        """Wait until `n` distinct keys have arrived."""
        with self.cond:
            return self.cond.wait_for(lambda: len(self.keys) >= n, timeout)

    @property
    def distinct(self) -> int:
        with self.lock:
            return len(self.keys)

    @property
    def duplicates(self) -> int:
        """Deliveries of a key beyond its first (a parent would have read the same message twice)."""
        with self.lock:
            return sum(c - 1 for c in self.keys.values())


Responder = Callable[[dict[str, Any], dict[str, str]], tuple[int, dict[str, str]] | None]
"""Decides a request's answer: (status, extra headers), or None for the default (200)."""


class HttpReceiver(_Tally):
    """An HTTP server taking webhook or SMS-gateway POSTs. With `secret`, a request with a bad or stale signature
    is answered 401 and not counted. With `dedupe`, a repeated idempotency key is answered 200 and not counted
    as a delivery (the behaviour the Idempotency-Key asks for); `repeats_dropped` counts them."""

    def __init__(self, *, secret: str | None = None, dedupe: bool = False, key_field: str = "ref") -> None:
        super().__init__()
        self.secret = secret
        self.dedupe = dedupe
        self.key_field = key_field
        self.responder: Responder | None = None
        self.rejected_signatures = 0
        self.repeats_dropped = 0
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                status, extra = receiver._handle(raw, headers)
                body = json.dumps({"status": status}).encode()
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender died (kill -9) after sending: the delivery is counted all the same

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"http-receiver-{self.port}")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _handle(self, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        if self.secret is not None and not verify(
            self.secret, headers.get(TIMESTAMP_HEADER, ""), raw, headers.get(SIGNATURE_HEADER, "")
        ):
            with self.lock:
                self.rejected_signatures += 1
            return 401, {}
        try:
            body = jsonstrict.loads(raw)
        except (ValueError, RecursionError):
            return 400, {}
        if not isinstance(body, dict):
            return 400, {}
        if self.responder is not None:
            answer = self.responder(body, headers)
            if answer is not None and answer[0] >= 300:
                return answer
        key = headers.get("Idempotency-Key") or str(body.get("idempotency_key") or body.get(self.key_field) or "")
        if self.dedupe:
            with self.lock:
                if key in self.keys:
                    self.repeats_dropped += 1
                    return 200, {}
        self.add(key, body, headers)
        return 200, {}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


def self_signed(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed server certificate for `host` (and localhost): (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


class SmtpReceiver(_Tally):
    """aiosmtpd on a free port, STARTTLS required (self-signed certificate: `cafile` is what the client trusts).
    `stop()` and `start()` simulate an outage on the same port. Recipients in `refuse` get 550."""

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory(prefix="smtp-receiver-") if folder is None else None
        self.folder = Path(self._tmp.name) if self._tmp is not None else folder
        assert self.folder is not None
        self.cafile, keyfile = self_signed(self.folder)
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(self.cafile, keyfile)
        self.port = free_port()
        self.refuse: set[str] = set()
        self._controller: Any = None
        self.start()

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        receiver = self

        class Handler:
            async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
                self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]
            ) -> str:
                if address in receiver.refuse:
                    return "550 5.1.1 no such mailbox"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                text = msg.get_body(("plain",))
                html = msg.get_body(("html",))
                body = {
                    "to": envelope.rcpt_tos,
                    "subject": str(msg["Subject"]),
                    "text": text.get_content().strip() if text is not None else None,
                    "html": html.get_content() if html is not None else None,
                    "tls": session.ssl is not None,
                    "language": str(msg["Content-Language"]),
                }
                receiver.add(str(msg["Idempotency-Key"]), body, {k: str(v) for k, v in msg.items()})
                return "250 Message accepted"

        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="127.0.0.1",
            tls_context=self._tls,
            require_starttls=True,
            ready_timeout=30,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
