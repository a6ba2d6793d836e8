"""A real local Web Push service and the browsers subscribed to it, for the tests and the push bench: it checks
every request the way a push service does (the VAPID JWT's ES256 signature against the school's public key, its
audience and expiry, RFC 8292) and then does what the browser does — decrypts the body with the subscription's
private ECDH key and auth secret (RFC 8291, aes128gcm, written here from the RFC with `cryptography`, not with
the library the sender uses, so a mistake on either side shows). Deliveries are counted per device at this end.
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edge.central.notify.receivers import _Tally, free_port


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


class PushError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Browser:
    """One device's subscription as PushManager.subscribe() makes it: the endpoint, and the keys only the
    browser holds (its ECDH private key and the auth secret)."""

    device: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        return _b64e(_point(self.private_key.public_key()))

    @property
    def auth(self) -> str:
        return _b64e(self.auth_secret)

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 §3.4 and RFC 8188: the aes128gcm body (one record) back to the plaintext."""
        if len(body) < 21:
            raise PushError(400, "body shorter than the aes128gcm header")
        salt, rs, idlen = body[:16], struct.unpack("!L", body[16:20])[0], body[20]
        sender = body[21 : 21 + idlen]
        ciphertext = body[21 + idlen :]
        if idlen != 65 or len(ciphertext) > rs:
            raise PushError(400, "keyid must be the sender's 65-byte public key, one record")
        try:
            sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        except ValueError:
            raise PushError(400, "keyid is not a P-256 point") from None
        ecdh = self.private_key.exchange(ec.ECDH(), sender_key)
        info = b"WebPush: info\x00" + _point(self.private_key.public_key()) + sender
        ikm = HKDF(hashes.SHA256(), 32, salt=self.auth_secret, info=info).derive(ecdh)
        cek = HKDF(hashes.SHA256(), 16, salt=salt, info=b"Content-Encoding: aes128gcm\x00").derive(ikm)
        nonce = HKDF(hashes.SHA256(), 12, salt=salt, info=b"Content-Encoding: nonce\x00").derive(ikm)
        try:
            padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        except InvalidTag:
            raise PushError(400, "cannot decrypt: wrong keys or a damaged body") from None
        end = len(padded.rstrip(b"\x00"))
        if end == 0 or padded[end - 1] != 2:
            raise PushError(400, "the last record lacks its 0x02 delimiter")
        return padded[: end - 1]


PushResponder = Callable[[str, dict[str, Any]], tuple[int, dict[str, str]] | None]
"""(device, decrypted payload) -> (status, headers) to answer instead of 201, or None."""


class LocalPushService(_Tally):
    """Push endpoints http://127.0.0.1:PORT/push/<device>. Counts one delivery per (device, idempotency key):
    `distinct` deliveries, `duplicates` (the same notice twice on one device). A device in `gone` is answered
    410; a bad VAPID token 401, a token for another key 403, a body it cannot decrypt 400 — none counted."""

    def __init__(self, vapid_public_key: str) -> None:
        super().__init__()
        self.vapid_public_key = vapid_public_key
        self.browsers: dict[str, Browser] = {}
        self.gone: set[str] = set()
        self.responder: PushResponder | None = None
        self.refused: list[tuple[int, str]] = []
        self.port = free_port()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}  # names are case-insensitive
                status, extra = service._handle(self.path, raw, headers)
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender died after sending (kill -9): the delivery is counted all the same

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"push-service-{self.port}")
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def subscribe(self, device: str | None = None) -> Browser:
        """A new browser subscription (what the parents' app would send to the centre)."""
        name = device or secrets.token_hex(8)
        b = Browser(
            name, f"{self.origin}/push/{name}", ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16)
        )
        with self.lock:
            self.browsers[name] = b
        return b

    def deliveries(self, device: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r.body for r in self.received if r.body.get("_device") == device]

    def verify_vapid(self, authorization: str) -> dict[str, Any]:
        """RFC 8292 §3: `vapid t=<JWT>, k=<public key>`; the JWT is ES256 over header.claims with that key."""
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise PushError(401, f"Authorization scheme {scheme!r}, not vapid")
        fields = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = fields.get("t", ""), fields.get("k", "")
        if key != self.vapid_public_key:
            raise PushError(403, "the VAPID key is not the one the subscription was made with")
        try:
            signed, sig = token.rsplit(".", 1)
            raw = _b64d(sig)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64d(key))
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            public.verify(der, signed.encode(), ec.ECDSA(hashes.SHA256()))
            header = json.loads(_b64d(signed.split(".")[0]))
            claims = json.loads(_b64d(signed.split(".")[1]))
        except (ValueError, InvalidSignature):
            raise PushError(401, "VAPID token signature does not verify") from None
        now = time.time()
        if header.get("alg") != "ES256" or len(raw) != 64:
            raise PushError(401, "VAPID token is not ES256")
        if claims.get("aud") != self.origin:
            raise PushError(401, f"VAPID audience {claims.get('aud')!r} is not {self.origin}")
        if not now < float(claims.get("exp", 0)) <= now + 86400:
            raise PushError(401, "VAPID token expired or valid for more than 24 h")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            raise PushError(401, "VAPID token has no contact (sub)")
        return dict(claims)

    def _handle(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        device = path.removeprefix("/push/")
        try:
            browser = self.browsers.get(device)
            if browser is None:
                raise PushError(404, f"no subscription {device!r}")
            if device in self.gone:
                raise PushError(410, "the subscription expired (the browser unsubscribed)")
            self.verify_vapid(headers.get("authorization", ""))
            if headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
                raise PushError(400, "Content-Encoding: aes128gcm and TTL are required")
            payload = json.loads(browser.decrypt(raw))
        except PushError as exc:
            with self.lock:
                self.refused.append((exc.status, str(exc)))
            return exc.status, {}
        except ValueError:
            return 400, {}
        if self.responder is not None:
            answer = self.responder(device, payload)
            if answer is not None and answer[0] >= 300:
                return answer
        payload["_device"] = device
        self.add(f"{device}|{payload.get('idempotency_key')}", payload, headers)
        return 201, {"Location": f"{self.origin}/message/{secrets.token_hex(8)}"}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
