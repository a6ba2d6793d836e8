"""The site PKI: one certificate authority per school (site), and one certificate per identity.

Why a PKI and not passwords: the broker can then refuse a client at the TLS handshake, every identity is a name
the ACL can speak of, and the same key that authenticates an operator to the broker signs the commands it sends
(edge/contract/signing.py), so a gateway can check who ordered a gate open without asking anyone.

Layout of a PKI folder (0700; every key 0600):

    ca.key  ca.crt  crl.pem  revoked.json
    issued/<name>.crt  issued/<name>.key

Keys are Ed25519 (small, fast on a Pi, deterministic signatures; TLS 1.3 as spoken by Mosquitto 2 and Python's
ssl supports them). A certificate records its role in the subject's OU and its site in O; CN is the identity's
name, which the broker takes as the MQTT user name (`use_identity_as_username`). Revocation writes a CRL that
the broker reads (`crlfile`) and the gateways use for command signers.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge.contract.topics import RESERVED_GATEWAY_IDS
from edge.security.private_files import private_dir, write_atomic, write_private

Role = Literal["gateway", "collector", "server", "operator", "broker", "bridge"]
ROLES: tuple[Role, ...] = get_args(Role)
ISSUABLE_ROLES: tuple[Role, ...] = ("gateway", "collector", "server", "operator", "bridge")
"""Roles `edge pki issue` hands out; the broker's own server certificate is made by `edge broker config`.
A `bridge` is a school's Mosquitto at the district broker: issued by the DISTRICT's CA and named after the
school's site id (the ACL lets it speak for that site only, edge/security/broker_config.py)."""
COMMAND_SIGNER_ROLES: frozenset[Role] = frozenset({"server", "operator"})

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Identity names end up in MQTT topics and ACL lines: no '/', '+', '#', spaces."""

CA_DAYS = 3650
LEAF_DAYS = 825
CRL_DAYS = 365


class PkiError(Exception):
    """A PKI operation that cannot be done, with the reason in words (never a traceback for the user)."""


@dataclass(frozen=True)
class Identity:
    name: str
    role: Role
    site: str
    serial: int
    not_after: dt.datetime
    revoked: bool
    cert_path: Path
    key_path: Path


@dataclass(frozen=True)
class TlsFiles:
    """What a client needs to reach the closed broker: the site CA, its certificate and its key."""

    ca: Path
    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _subject(name: str, role: str, site: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, site),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    attrs = name.get_attributes_for_oid(oid)
    return str(attrs[0].value) if attrs else ""


def describe(cert: x509.Certificate) -> tuple[str, Role | None, str]:
    """(name, role, site) recorded in a certificate issued by this PKI; role None when it records none we know."""
    role = _attr(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    return (
        _attr(cert.subject, NameOID.COMMON_NAME),
        role if role in ROLES else None,
        _attr(cert.subject, NameOID.ORGANIZATION_NAME),
    )


def check_name(name: str, what: str = "identity name") -> str:
    if not NAME_RE.match(name):
        raise PkiError(f"{what} {name!r}: use letters, digits, '_', '.', '-' (1-64, no '/', '+', '#', spaces)")
    return name


RESERVED_SITE_IDS = frozenset({"collectors", "servers"})
"""Topic levels beside the sites ({prefix}/collectors/C/status, {prefix}/servers/S/status): a site (or a school's
bridge, named after its site) called so would publish over those services' status."""


def check_site(site: str) -> str:
    check_name(site, "site id")
    if site in RESERVED_SITE_IDS:
        raise PkiError(
            f"site id {site!r} is reserved (a topic level of its own: {', '.join(sorted(RESERVED_SITE_IDS))})"
        )
    return site


def _key_pem(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise PkiError(f"{path}: no such certificate") from None
    except ValueError as exc:
        raise PkiError(f"{path}: not a PEM certificate ({exc})") from None


def load_private_key(path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise PkiError(f"{path}: no such key") from None
    except (ValueError, TypeError) as exc:
        raise PkiError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise PkiError(f"{path}: not an Ed25519 key")
    return key


class Pki:
    """A site PKI in a folder. Every method reads the folder afresh: several CLI calls may work on it in turn."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)

    @property
    def ca_cert_path(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key_path(self) -> Path:
        return self.dir / "ca.key"

    @property
    def crl_path(self) -> Path:
        return self.dir / "crl.pem"

    @property
    def _revoked_path(self) -> Path:
        return self.dir / "revoked.json"

    def cert_path(self, name: str) -> Path:
        return self.dir / "issued" / f"{check_name(name)}.crt"

    def key_path(self, name: str) -> Path:
        return self.dir / "issued" / f"{check_name(name)}.key"

    def exists(self) -> bool:
        return self.ca_cert_path.exists() and self.ca_key_path.exists()

    # --- the CA --------------------------------------------------------------------------------------------------

    def init(self, site: str) -> bool:
        """Create the CA for `site`. Returns False (and changes nothing) when this folder already has a CA of the
        same site; a CA of another site is an error (one PKI per site)."""
        check_site(site)
        if self.exists():
            if self.site != site:
                raise PkiError(f"{self.dir} already holds the CA of site {self.site!r}, not {site!r}")
            return False
        private_dir(self.dir)
        private_dir(self.dir / "issued")
        key = ed25519.Ed25519PrivateKey.generate()
        subject = _subject(f"{site} site CA", "ca", site)
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, None)
        )
        write_private(self.ca_key_path, _key_pem(key))
        self.ca_cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_atomic(self._revoked_path, b"[]\n")
        self._write_crl()
        return True

    def _ca(self) -> tuple[x509.Certificate, ed25519.Ed25519PrivateKey]:
        if not self.exists():
            raise PkiError(f"{self.dir} holds no site CA: run 'edge pki init --dir {self.dir} --site SITE' first")
        return load_cert(self.ca_cert_path), load_private_key(self.ca_key_path)

    @property
    def ca_cert(self) -> x509.Certificate:
        return load_cert(self.ca_cert_path)

    @property
    def site(self) -> str:
        return describe(self.ca_cert)[2]

    # --- identities ------------------------------------------------------------------------------------------------

    def issue(
        self,
        name: str,
        role: Role,
        *,
        hosts: tuple[str, ...] = (),
        days: int = LEAF_DAYS,
        renew: bool = False,
    ) -> Identity:
        """Issue `name` with `role`. Idempotent: an identity already issued with the same role is returned as it
        is, unless `renew` (a new key and certificate: rotation). A name held by another role is an error.
        `hosts` are DNS names / IP addresses for a TLS server certificate (the broker, the web server)."""
        check_name(name)
        if role == "bridge":  # a bridge is named after the school it carries
            check_site(name)
        if role == "gateway" and name in RESERVED_GATEWAY_IDS:
            raise PkiError(
                f"gateway name {name!r} is reserved: {{site}}/{name}/… are the site's own topics"
                " (edge/contract/topics.py)"
            )
        if role not in ROLES:
            raise PkiError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        ca_cert, ca_key = self._ca()
        existing = self.get(name)
        if existing is not None and not renew:
            if existing.role != role:
                raise PkiError(f"{name!r} is already issued as a {existing.role}, not a {role}")
            if not existing.revoked:
                return existing
            raise PkiError(f"{name!r} was revoked: issue the replacement under a new name, or use --renew")
        site = describe(ca_cert)[2]
        key = ed25519.Ed25519PrivateKey.generate()
        now = _now()
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
        if hosts:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_subject(name, role, site))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        cert = builder.sign(ca_key, None)
        write_private(self.key_path(name), _key_pem(key))
        write_private(self.cert_path(name), cert.public_bytes(serialization.Encoding.PEM))
        self.cert_path(name).chmod(0o644)  # certificates are public; keys are not
        found = self.get(name)
        assert found is not None
        return found

    def get(self, name: str) -> Identity | None:
        path = self.cert_path(name)
        if not path.exists():
            return None
        return self._identity(path)

    def identities(self) -> list[Identity]:
        folder = self.dir / "issued"
        if not folder.is_dir():
            return []
        return [self._identity(p) for p in sorted(folder.glob("*.crt"))]

    def tls_files(self, name: str) -> TlsFiles:
        ident = self.get(name)
        if ident is None:
            raise PkiError(f"{name!r} is not issued in {self.dir}")
        return TlsFiles(self.ca_cert_path, ident.cert_path, ident.key_path)

    def _identity(self, path: Path) -> Identity:
        cert = load_cert(path)
        name, role, site = describe(cert)
        if role is None:
            raise PkiError(f"{path}: records no role this project knows")
        return Identity(
            name=name,
            role=role,
            site=site,
            serial=cert.serial_number,
            not_after=cert.not_valid_after_utc,
            revoked=cert.serial_number in self._revoked_serials(),
            cert_path=path,
            key_path=path.with_suffix(".key"),
        )

    # --- revocation ------------------------------------------------------------------------------------------------

    def _revoked_serials(self) -> set[int]:
        try:
            entries = json.loads(self._revoked_path.read_text())
        except FileNotFoundError:
            return set()
        return {int(e["serial"]) for e in entries}

    def revoke(self, name: str) -> bool:
        """Revoke `name` (its current certificate) and rewrite the CRL. False when it was already revoked.
        The broker sees the change after a reload (SIGHUP), gateways at their next command check."""
        ident = self.get(name)
        if ident is None:
            raise PkiError(f"{name!r} is not issued in {self.dir}")
        entries = json.loads(self._revoked_path.read_text()) if self._revoked_path.exists() else []
        if any(int(e["serial"]) == ident.serial for e in entries):
            return False
        entries.append({"serial": ident.serial, "name": name, "at": _now().isoformat(timespec="seconds")})
        write_atomic(self._revoked_path, (json.dumps(entries, indent=1) + "\n").encode())
        self._write_crl()
        return True

    def _write_crl(self) -> None:
        ca_cert, ca_key = self._ca()
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=CRL_DAYS))
        )
        for serial in sorted(self._revoked_serials()):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        crl = builder.sign(ca_key, None)
        write_atomic(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))  # never a torn CRL

    def refresh_crl(self) -> None:
        """Re-sign the CRL with a new next-update (it is valid CRL_DAYS; an expired CRL makes the broker refuse
        everyone, so `edge pki crl` belongs in a yearly maintenance step)."""
        self._write_crl()


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def load_crl_serials(path: Path, ca_cert: x509.Certificate) -> set[int]:
    """Serials revoked by a CRL file, after checking that the site CA signed it."""
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except FileNotFoundError:
        raise PkiError(f"{path}: no such CRL") from None
    except ValueError as exc:
        raise PkiError(f"{path}: not a PEM CRL ({exc})") from None
    if not crl.is_signature_valid(ca_cert.public_key()):  # type: ignore[arg-type]
        raise PkiError(f"{path}: CRL not signed by the site CA")
    return {r.serial_number for r in crl}
