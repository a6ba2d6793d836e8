"""Signed remote commands: who ordered this gate open, and is the order fresh and unaltered?

Why signatures on top of the broker's ACL: the ACL says which identities may *publish* a command, but a command
passes through the broker (and, in a district, a bridge) that a gateway does not have to trust. A signature by an
operator's or server's key, over a canonical form that binds the site, the gateway, the command name, every
argument, `issued_at` and a nonce, lets the gateway check the order itself: a forged, altered, redirected (to
another gateway or command), stale or replayed request is refused.

A signed request is the command's JSON object with three added fields:
    "issued_at": "2026-11-24T07:12:03Z"   UTC, whole seconds
    "nonce":     32 hex characters (128 random bits)
    "signer":    the signer's certificate (PEM), issued by the site CA with role operator or server
    "signature": base64 of Ed25519(key, canonical_bytes(site, gateway, command, request minus signature))

The canonical form is JSON with sorted keys, no spaces, UTF-8 (not ASCII-escaped), behind a domain-separation
line, so a signature over anything else (another message type, another protocol version) never verifies here.
Arguments are limited to strings, integers, booleans and null (floats have no single canonical spelling).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from edge.security.pki import COMMAND_SIGNER_ROLES, describe

DOMAIN = b"edge-attendance command v1\n"
SIGNATURE_FIELD = "signature"
RESERVED = frozenset({"issued_at", "nonce", "signer", SIGNATURE_FIELD})


class SignatureRefused(Exception):
    """A request that must not be executed, with the reason the result and the log give."""


@dataclass(frozen=True)
class Signer:
    name: str
    role: str
    serial: int


def _check_value(path: str, value: Any) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise SignatureRefused(f"{path}: integer out of range")
        return
    raise SignatureRefused(f"{path}: only strings, integers, booleans and null can be signed")


def canonical_bytes(site: str, gateway: str, command: str, request: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: every field of the request except the signature, and where it is going."""
    body = {k: v for k, v in request.items() if k != SIGNATURE_FIELD}
    for k, v in body.items():
        if not isinstance(k, str):
            raise SignatureRefused("field names must be strings")
        _check_value(k, v)
    doc = {"site": site, "gateway": gateway, "command": command, "request": body}
    return DOMAIN + json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_command(
    *,
    site: str,
    gateway: str,
    command: str,
    request: Mapping[str, Any],
    key: ed25519.Ed25519PrivateKey,
    cert_pem: str,
    now: dt.datetime | None = None,
    nonce: str | None = None,
) -> dict[str, Any]:
    """`request` (request_id, gate, arguments) made into a signed request ready to publish."""
    clash = RESERVED & set(request)
    if clash:
        raise ValueError(f"request may not set {', '.join(sorted(clash))}: they are added by signing")
    signed: dict[str, Any] = dict(request)
    signed["issued_at"] = _iso(now or dt.datetime.now(dt.UTC))
    signed["nonce"] = nonce or secrets.token_hex(16)
    signed["signer"] = cert_pem
    sig = key.sign(canonical_bytes(site, gateway, command, signed))
    signed[SIGNATURE_FIELD] = base64.b64encode(sig).decode()
    return signed


def parse_issued_at(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise SignatureRefused("issued_at missing")
    try:
        t = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise SignatureRefused("issued_at is not YYYY-MM-DDTHH:MM:SSZ") from None
    return t


def verify_command(
    *,
    site: str,
    gateway: str,
    command: str,
    request: Mapping[str, Any],
    ca_cert: x509.Certificate,
    now: dt.datetime,
    max_skew_s: float,
    revoked_serials: frozenset[int] = frozenset(),
) -> Signer:
    """Check a signed request; the signer on success, SignatureRefused with the reason otherwise. Does not
    check the nonce against earlier ones: the caller's nonce store does (it must outlive restarts)."""
    sig_text = request.get(SIGNATURE_FIELD)
    if not isinstance(sig_text, str) or not sig_text:
        raise SignatureRefused("unsigned command")
    nonce = request.get("nonce")
    if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
        raise SignatureRefused("nonce missing or not 16-64 characters")
    issued = parse_issued_at(request.get("issued_at"))
    skew = abs((now - issued).total_seconds())
    if skew > max_skew_s:
        raise SignatureRefused(
            f"stale command: issued_at is {skew:.0f}s from the gateway's clock (max {max_skew_s:g}s)"
        )
    signer = check_signer(
        request.get("signer"),
        ca_cert=ca_cert,
        site=site,
        now=now,
        roles=COMMAND_SIGNER_ROLES,
        only="operator or server identities may command",
        revoked_serials=revoked_serials,
    )
    try:
        sig = base64.b64decode(sig_text, validate=True)
        signer.key.verify(sig, canonical_bytes(site, gateway, command, request))
    except (binascii.Error, ValueError, InvalidSignature):
        raise SignatureRefused("bad signature") from None
    return Signer(name=signer.name, role=signer.role, serial=signer.serial)


@dataclass(frozen=True)
class CheckedSigner:
    name: str
    role: str
    serial: int
    key: ed25519.Ed25519PublicKey


def check_signer(
    pem: object,
    *,
    ca_cert: x509.Certificate,
    site: str,
    now: dt.datetime,
    roles: Collection[str],
    only: str,
    revoked_serials: frozenset[int] = frozenset(),
) -> CheckedSigner:
    """The one check of a signer's certificate (PEM), for signed commands (verify_command) and the centre's
    distribution manifests (edge/contract/manifest.py): issued by the site CA, valid `now`, not
    revoked, one of `roles`, of this `site`, an Ed25519 key. SignatureRefused with the reason otherwise
    (`only` ends the role's: "only {only}"). A fix here is a fix for both."""
    if not isinstance(pem, str) or not pem or len(pem) > 4096:
        raise SignatureRefused("signer certificate missing")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise SignatureRefused("signer certificate is not a PEM certificate") from None
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        raise SignatureRefused("signer certificate not issued by the site CA") from None
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise SignatureRefused("signer certificate expired or not yet valid")
    if cert.serial_number in revoked_serials:
        raise SignatureRefused("signer certificate revoked")
    name, role, cert_site = describe(cert)
    if role not in roles:
        raise SignatureRefused(f"signer {name!r} has role {role!r}: only {only}")
    if cert_site != site:
        raise SignatureRefused(f"signer {name!r} belongs to site {cert_site!r}")
    pub = cert.public_key()
    if not isinstance(pub, ed25519.Ed25519PublicKey):
        raise SignatureRefused("signer key is not Ed25519")
    return CheckedSigner(name=name, role=str(role), serial=cert.serial_number, key=pub)
