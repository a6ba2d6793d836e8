"""Signed commands (#6): the canonical form binds everything, and the verifier refuses what it must."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.contract.signing import SignatureRefused, sign_command, verify_command
from edge.gateway.command_auth import NonceStore
from edge.security.pki import Pki, load_private_key
from tests.helpers import fuzz_examples

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
"""The tests' clock; reset when the module's PKI is made (certificates are valid from 5 minutes before they are
issued, and a long suite may reach this module many minutes after it was imported)."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    global NOW  # noqa: PLW0603 (the module's clock follows the moment its certificates are issued)
    NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.init("st-marys")
    p.issue("alice", "operator")
    p.issue("web", "server")
    p.issue("gw-01", "gateway")
    p.issue("bob", "operator")
    p.revoke("bob")
    return p


def sign(pki: Pki, who: str = "alice", request: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    ident = pki.get(who)
    assert ident is not None
    return sign_command(
        site=kw.pop("site", "st-marys"),
        gateway=kw.pop("gateway", "gw-01"),
        command=kw.pop("command", "open_gate"),
        request=request or {"request_id": "r-1", "gate": "main-in", "ms": 3000},
        key=load_private_key(ident.key_path),
        cert_pem=ident.cert_path.read_text(),
        now=kw.pop("now", NOW),
        **kw,
    )


def verify(pki: Pki, request: dict[str, Any], **kw: Any) -> str:
    signer = verify_command(
        site=kw.pop("site", "st-marys"),
        gateway=kw.pop("gateway", "gw-01"),
        command=kw.pop("command", "open_gate"),
        request=request,
        ca_cert=pki.ca_cert,
        now=kw.pop("now", NOW),
        max_skew_s=60,
        revoked_serials=frozenset(load_revoked(pki)),
    )
    return signer.name


def load_revoked(pki: Pki) -> set[int]:
    from edge.security.pki import load_crl_serials

    return load_crl_serials(pki.crl_path, pki.ca_cert)


def test_operator_and_server_signatures_verify(pki: Pki) -> None:
    assert verify(pki, sign(pki, "alice")) == "alice"
    assert verify(pki, sign(pki, "web")) == "web"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: {"request_id": "r-1", "ms": 3000}, "unsigned"),
        (lambda p: {**sign(p), "signature": "anything"}, "bad signature"),
        (lambda p: sign(p, "gw-01"), "only operator or server"),  # a gateway's key cannot command
        (lambda p: sign(p, "bob"), "revoked"),
        (lambda p: sign(p, now=NOW - dt.timedelta(seconds=61)), "stale"),
        (lambda p: sign(p, now=NOW + dt.timedelta(seconds=61)), "stale"),
        (lambda p: sign(p, gateway="gw-02"), "bad signature"),  # redirected to another gateway
        (lambda p: sign(p, command="lock_down"), "bad signature"),  # re-labelled as another command
        (lambda p: {**sign(p), "ms": 60000}, "bad signature"),  # an argument changed
        (lambda p: {**sign(p), "signer": sign(p, "web")["signer"]}, "bad signature"),  # someone else's certificate
    ],
)
def test_refused(pki: Pki, make: Any, reason: str) -> None:
    with pytest.raises(SignatureRefused, match=reason):
        verify(pki, make(pki))


def test_a_certificate_from_another_ca_is_refused(pki: Pki, tmp_path: Path) -> None:
    other = Pki(tmp_path)
    other.init("st-marys")
    other.issue("alice", "operator")
    with pytest.raises(SignatureRefused, match="not issued by the site CA"):
        verify(pki, sign(other, "alice"))


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=40))
requests = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(lambda k: k not in {"issued_at", "nonce", "signer", "signature"}),
    scalars,
    max_size=6,
).map(lambda d: {"request_id": "r", **d})


@settings(max_examples=fuzz_examples(60), deadline=None)
@given(request=requests, field=st.integers(min_value=0), new=scalars)
def test_any_change_to_a_signed_field_breaks_verification(
    pki: Pki, request: dict[str, Any], field: int, new: Any
) -> None:
    signed = sign(pki, request=request)
    assert verify(pki, signed) == "alice"
    keys = sorted(k for k in signed if k != "signature")
    key = keys[field % len(keys)]
    if signed[key] == new or key == "issued_at":
        new = f"{signed[key]}!"  # a real change (issued_at: one that still parses would be skew-checked)
    tampered = {**signed, key: new}
    with pytest.raises(SignatureRefused):
        verify(pki, tampered)
    extra = {**signed, "extra_field": 1}
    with pytest.raises(SignatureRefused, match="bad signature"):
        verify(pki, extra)


def test_nonce_store_refuses_replays_across_reopen(tmp_path: Path) -> None:
    db = tmp_path / "gw.sqlite"
    store = NonceStore(db, keep_s=180)
    assert store.claim("n" * 32, now=1000.0)
    assert not store.claim("n" * 32, now=1001.0)
    store.close()
    again = NonceStore(db, keep_s=180)  # a gateway restart
    assert not again.claim("n" * 32, now=1002.0)
    assert again.claim("m" * 32, now=1300.0)  # old nonces are pruned after keep_s ...
    assert again.claim("n" * 32, now=1300.0)  # ... when their requests are stale anyway
    again.close()


def test_a_gateway_without_a_site_ca_refuses_every_command(pki: Pki, tmp_path: Path) -> None:
    from edge.gateway.command_auth import CommandAuthorizer

    auth = CommandAuthorizer(
        site="st-marys",
        gateway="gw-01",
        ca_path=None,
        crl_path=None,
        nonces=NonceStore(tmp_path / "n", 180),
        max_skew_s=60,
    )
    with pytest.raises(SignatureRefused, match="no site CA"):
        auth.verify("open_gate", sign(pki, now=dt.datetime.now(dt.UTC)))
    assert auth.refused == 1


def test_bench_security_smoke() -> None:
    """The benchmark script runs (its figures are not asserted: they belong to the machine)."""
    from edge.bench.security import run

    data = run(taps=3, gap_s=0)
    assert data["tap_to_stored"]["tls"]["taps"] == 3 and data["tap_to_stored"]["plaintext"]["taps"] == 3


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("foreign", "signer certificate not issued by the site CA"),
        ("not-pem", "signer certificate is not a PEM certificate"),
        ("missing", "signer certificate missing"),
        ("expired", "signer certificate expired or not yet valid"),
    ],
)
def test_commands_and_manifests_refuse_a_signer_for_the_same_reasons(
    pki: Pki, tmp_path: Path, case: str, reason: str
) -> None:
    """One signer-certificate check (signing.check_signer) behind both verifiers: the same refusal, word for word."""
    from edge.contract.manifest import Manifest, ManifestRefused, sign_manifest, verify_manifest

    signer = "web"
    if case == "foreign":
        other = Pki(tmp_path / "other")
        other.init("st-marys")
        other.issue("web", "server")
        key, pem = load_private_key(other.tls_files("web").key), other.tls_files("web").cert.read_text()
    else:
        ident = pki.get(signer)
        assert ident is not None
        key, pem = load_private_key(ident.key_path), ident.cert_path.read_text()
    pem = {"not-pem": "-----BEGIN CERTIFICATE-----\nxx\n", "missing": ""}.get(case, pem)
    now = NOW + dt.timedelta(days=3650) if case == "expired" else NOW
    command = sign_command(
        site="st-marys",
        gateway="gw-01",
        command="open_gate",
        request={"request_id": "r"},
        key=key,
        cert_pem=pem,
        now=now,
    )
    with pytest.raises(SignatureRefused) as by_command:
        verify_command(
            site="st-marys",
            gateway="gw-01",
            command="open_gate",
            request=command,
            ca_cert=pki.ca_cert,
            now=now,
            max_skew_s=60,
        )
    manifest = sign_manifest(Manifest("roster", "st-marys", 1, "0" * 64, 1, "", "t", 1, 1024), key, pem)
    with pytest.raises(ManifestRefused) as by_manifest:
        verify_manifest(manifest, site="st-marys", ca_cert=pki.ca_cert, now=now)
    assert str(by_command.value) == str(by_manifest.value) == reason
