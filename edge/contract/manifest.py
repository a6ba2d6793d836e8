"""The signed manifest of a distributed artifact (a site's gallery or roster) and the MQTT topics that carry it.

A manifest says what the centre published: {kind, site, version, sha256, size, model, created_at, chunks,
chunk_size}, plus the signer's certificate and an Ed25519 signature over the canonical form of every other field
(JSON, sorted keys, no spaces, UTF-8, behind a domain-separation line, as for signed commands: a command's
signature never verifies as a manifest and the reverse). The gateway checks it against its site CA: the signer
must be a `server` identity of the same site, valid now and not in the CRL. The sha256 in the signed manifest
then binds the bytes, so the chunks themselves need no signature.

Topics (prefix `edge/v1`, site S, kind gallery|roster, all retained):
    {prefix}/S/distribution/{kind}/manifest            the manifest (JSON)
    {prefix}/S/distribution/{kind}/{version}/{index}   the artifact's bytes, in chunks of `chunk_size`
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from edge import jsonstrict
from edge.contract.signing import SignatureRefused, check_signer

Kind = Literal["gallery", "roster"]
KINDS: tuple[Kind, ...] = get_args(Kind)
DOMAIN = b"edge-attendance distribution v1\n"
CHUNK_BYTES = 192 * 1024
"""Below the broker's max_packet_size (256 KiB, edge/security/broker_config.py) with room for topic and header."""
MAX_MANIFEST_BYTES = 8192
MAX_SIZE: dict[Kind, int] = {"gallery": 64 * 1024 * 1024, "roster": 8 * 1024 * 1024}
"""Largest artifact a gateway accepts: a 2,000-student SFace gallery is about 1 MB; a manifest claiming more is
refused before a byte of it is buffered."""
SIGNER_ROLE = "server"
_SHA = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = ("kind", "site", "version", "sha256", "size", "model", "created_at", "chunks", "chunk_size")


class ManifestRefused(Exception):
    """A manifest that must not be acted on, with the reason the alarm gives."""


@dataclass(frozen=True)
class Manifest:
    kind: Kind
    site: str
    version: int
    sha256: str
    size: int
    model: str
    """The recognition model id of a gallery's templates; '' for a roster."""
    created_at: str
    chunks: int
    chunk_size: int
    signer: str = ""
    """PEM certificate of the signing server identity."""
    signature: str = ""

    def body(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("signature")
        return d

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()


def canonical_bytes(m: Manifest) -> bytes:
    return DOMAIN + json.dumps(m.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def topics(prefix: str, site: str, kind: Kind) -> tuple[str, str]:
    """(manifest topic, chunk topic template with {version} and {index})."""
    base = f"{prefix}/{site}/distribution/{kind}"
    return f"{base}/manifest", base + "/{version}/{index}"


def site_filter(prefix: str, site: str) -> str:
    return f"{prefix}/{site}/distribution/#"


def parse_topic(topic: str, prefix: str, site: str) -> tuple[Kind, int | None, int | None] | None:
    """(kind, None, None) for a manifest, (kind, version, index) for a chunk, None for anything else."""
    head = f"{prefix}/{site}/distribution/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if not parts or parts[0] not in KINDS:
        return None
    kind: Kind = parts[0]
    if parts[1:] == ["manifest"]:
        return kind, None, None
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() and len(parts[1]) < 20 and len(parts[2]) < 8:
        return kind, int(parts[1]), int(parts[2])
    return None


def chunk_count(size: int, chunk_size: int) -> int:
    return max(1, -(-size // chunk_size))


def sign_manifest(m: Manifest, key: ed25519.Ed25519PrivateKey, cert_pem: str) -> Manifest:
    unsigned = Manifest(**{**m.body(), "signer": cert_pem, "signature": ""})
    sig = key.sign(canonical_bytes(unsigned))
    return Manifest(**{**unsigned.body(), "signature": base64.b64encode(sig).decode()})


def parse_manifest(payload: bytes) -> Manifest:
    """The manifest's fields, type- and range-checked (the signature is checked by verify_manifest)."""
    if len(payload) > MAX_MANIFEST_BYTES:
        raise ManifestRefused(f"manifest of {len(payload)} bytes (max {MAX_MANIFEST_BYTES})")
    try:
        doc = jsonstrict.loads(payload)
    except jsonstrict.RepeatedKey as exc:
        raise ManifestRefused(f"manifest: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ManifestRefused("manifest is not JSON") from None
    if not isinstance(doc, dict):
        raise ManifestRefused("manifest is not a JSON object")
    missing = [f for f in _FIELDS if f not in doc]
    if missing:
        raise ManifestRefused(f"manifest lacks {', '.join(missing)}")
    unknown = set(doc) - {*_FIELDS, "signer", "signature"}
    if unknown:
        raise ManifestRefused(f"manifest has unknown fields {', '.join(sorted(unknown))}")
    for f in ("version", "size", "chunks", "chunk_size"):
        v = doc[f]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**53:
            raise ManifestRefused(f"manifest {f} is not a non-negative integer")
    for f in ("kind", "site", "sha256", "model", "created_at", "signer", "signature"):
        if not isinstance(doc.get(f, ""), str):
            raise ManifestRefused(f"manifest {f} is not a string")
    if doc["kind"] not in KINDS:
        raise ManifestRefused(f"manifest kind {doc['kind']!r} is not one of {', '.join(KINDS)}")
    if not _SHA.match(doc["sha256"]):
        raise ManifestRefused("manifest sha256 is not 64 lower-case hex characters")
    if doc["size"] > MAX_SIZE[doc["kind"]]:
        raise ManifestRefused(f"{doc['kind']} of {doc['size']} bytes is over the limit of {MAX_SIZE[doc['kind']]}")
    if not 1 <= doc["chunk_size"] <= CHUNK_BYTES or doc["chunks"] != chunk_count(doc["size"], doc["chunk_size"]):
        raise ManifestRefused("manifest chunking is inconsistent (chunk_size, chunks, size)")
    return Manifest(**{k: doc[k] for k in (*_FIELDS, "signer", "signature") if k in doc})


def verify_manifest(
    m: Manifest,
    *,
    site: str,
    ca_cert: x509.Certificate,
    now: dt.datetime,
    revoked_serials: frozenset[int] = frozenset(),
) -> str:
    """Check who signed `m` and that it is for this site; the signer's name, or ManifestRefused."""
    if not m.signature:
        raise ManifestRefused("unsigned manifest")
    if m.site != site:
        raise ManifestRefused(f"manifest for site {m.site!r}, this is {site!r}")
    try:
        signer = check_signer(
            m.signer,
            ca_cert=ca_cert,
            site=site,
            now=now,
            roles=(SIGNER_ROLE,),
            only="a server identity may distribute",
            revoked_serials=revoked_serials,
        )
    except SignatureRefused as exc:
        raise ManifestRefused(str(exc)) from None
    try:
        signer.key.verify(base64.b64decode(m.signature, validate=True), canonical_bytes(m))
    except (binascii.Error, ValueError, InvalidSignature):
        raise ManifestRefused("bad signature") from None
    return signer.name
