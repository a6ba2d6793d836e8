"""Checks a collector's TLS files before it connects, so a wrong file is an error message and not a silence.

Why before connecting: paho retries a refused TLS handshake for ever with nothing but a debug line, and a
certificate the broker accepts but whose ACL cannot read check-ins (a gateway's, another site's) connects,
subscribes and then receives nothing at all. Both look like "no gateway is tapping"; both are caught here from
the files alone: readable, PEM, the certificate issued by that CA, the key its own, still valid, and a role
that the broker's ACL lets read check-ins (edge/security/broker_config.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from edge.security.pki import PkiError, TlsFiles, describe, load_cert

READING_ROLES = ("collector", "server")
"""Roles whose ACL reads +/+/checkin; a certificate from another PKI (no role recorded) is left to its broker."""


def _spki(cert_or_key: Any) -> bytes:
    """The DER public key of a certificate or a private key (what must be equal for the pair to match)."""
    public = cert_or_key.public_key()
    return bytes(public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def check_collector_tls(files: TlsFiles, now: dt.datetime | None = None) -> None:
    """Raise PkiError with the reason in words when `files` cannot make a working collector connection."""
    ca, cert = load_cert(files.ca), load_cert(files.cert)
    try:
        key = serialization.load_pem_private_key(Path(files.key).read_bytes(), password=None)
    except FileNotFoundError:
        raise PkiError(f"{files.key}: no such key") from None
    except PermissionError:
        raise PkiError(f"{files.key}: not readable by this user (keys are 0600: run as their owner)") from None
    except (ValueError, TypeError) as exc:
        raise PkiError(f"{files.key}: not an unencrypted PEM private key ({exc})") from None
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise PkiError(f"{files.cert} was not issued by the CA in {files.ca} (another site's PKI?)") from None
    if _spki(key) != _spki(cert):
        raise PkiError(f"{files.key} is not the key of {files.cert}")
    when = now or dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        valid = f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}"
        raise PkiError(f"{files.cert} is not valid now (valid {valid}): renew it ('edge pki issue --renew')")
    name, role, _site = describe(cert)
    if role is not None and role not in READING_ROLES:
        raise PkiError(
            f"{files.cert} is the {role} {name!r}: the broker lets only a collector read check-ins "
            f"('edge pki issue --role collector NAME')"
        )
