"""The site PKI (#6): a CA per site, identities with their role, revocation into a CRL, keys private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from edge.cli import cli
from edge.security.pki import Pki, PkiError, describe, load_crl_serials


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_init_issue_list_revoke(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    assert pki.init("st-marys") is True
    assert pki.init("st-marys") is False  # idempotent
    with pytest.raises(PkiError, match="site 'st-marys'"):
        pki.init("other-school")
    assert mode(pki.dir) == 0o700 and mode(pki.ca_key_path) == 0o600

    gw = pki.issue("gw-01", "gateway")
    op = pki.issue("alice", "operator")
    assert pki.issue("gw-01", "gateway") == gw  # idempotent: same certificate
    with pytest.raises(PkiError, match="already issued as a gateway"):
        pki.issue("gw-01", "operator")
    assert mode(gw.key_path) == 0o600
    cert = x509.load_pem_x509_certificate(gw.cert_path.read_bytes())
    assert describe(cert) == ("gw-01", "gateway", "st-marys")
    cert.verify_directly_issued_by(pki.ca_cert)

    assert [(i.name, i.role, i.revoked) for i in pki.identities()] == [
        ("alice", "operator", False),
        ("gw-01", "gateway", False),
    ]
    assert pki.revoke("alice") is True
    assert pki.revoke("alice") is False
    assert load_crl_serials(pki.crl_path, pki.ca_cert) == {op.serial}
    assert [i.revoked for i in pki.identities()] == [True, False]
    renewed = pki.issue("gw-01", "gateway", renew=True)  # rotation: a new key and serial
    assert renewed.serial != gw.serial


@pytest.mark.parametrize("name", ["", "a/b", "gw+1", "gw#", "has space", "x" * 65])
def test_names_that_would_break_topics_or_the_acl_are_refused(tmp_path: Path, name: str) -> None:
    pki = Pki(tmp_path)
    pki.init("s")
    with pytest.raises(PkiError, match="identity name"):
        pki.issue(name, "gateway")


def test_a_crl_not_signed_by_the_site_ca_is_refused(tmp_path: Path) -> None:
    a, b = Pki(tmp_path / "a"), Pki(tmp_path / "b")
    a.init("s")
    b.init("s")
    with pytest.raises(PkiError, match="not signed by the site CA"):
        load_crl_serials(b.crl_path, a.ca_cert)


def test_cli(tmp_path: Path) -> None:
    d = str(tmp_path / "pki")
    run = CliRunner().invoke
    assert run(cli, ["pki", "init", "--dir", d, "--site", "st-marys"]).exit_code == 0
    r = run(cli, ["pki", "issue", "--dir", d, "--role", "gateway", "gw-01"])
    assert r.exit_code == 0 and "gateway gw-01" in r.output
    r = run(cli, ["pki", "issue", "--dir", d, "--role", "wizard", "x"])
    assert r.exit_code == 2 and "wizard" in r.output
    r = run(cli, ["pki", "issue", "--dir", str(tmp_path / "nowhere"), "--role", "gateway", "gw-01"])
    assert r.exit_code == 2 and "holds no site CA" in r.output
    assert run(cli, ["pki", "revoke", "--dir", d, "gw-01"]).exit_code == 0
    r = run(cli, ["pki", "list", "--dir", d])
    assert "gw-01" in r.output and "REVOKED" in r.output
    out = tmp_path / "broker"
    r = run(cli, ["broker", "config", "--pki", d, "--site", "st-marys", "--out", str(out)])
    assert r.exit_code == 0, r.output
    conf = (out / "mosquitto.conf").read_text()
    for line in (
        "require_certificate true",
        "use_identity_as_username true",
        "use_username_as_clientid true",  # the client id is the certificate's name (issue #21)
        "allow_anonymous false",
        f"plugin {out}/edge_acl.so",
        f"plugin_opt_rules {out}/edge_acl.rules",
    ):
        assert line in conf
    assert (out / "edge_acl.so").is_file() and "retain edge/v1/+/+/status" in (out / "edge_acl.rules").read_text()
    assert "persistence true" in conf and f"crlfile {out}/crl.pem" in conf
    assert "user gw-01" not in (out / "acl").read_text()  # revoked: no rights at all
    assert mode(out / "broker.key") == 0o600
    r = run(cli, ["broker", "config", "--pki", d, "--site", "elsewhere", "--out", str(out)])
    assert r.exit_code == 2 and "not 'elsewhere'" in r.output


@pytest.mark.parametrize("reserved", ["collectors", "servers"])
def test_sites_and_bridges_named_like_a_services_topic_level_are_refused(tmp_path: Path, reserved: str) -> None:
    """{prefix}/collectors/C/status and {prefix}/servers/S/status sit beside the sites: a site, or a school's
    bridge (named after its site), called so would publish over those services' status."""
    with pytest.raises(PkiError, match="reserved"):
        Pki(tmp_path / "a").init(reserved)
    pki = Pki(tmp_path / "b")
    pki.init("district")
    with pytest.raises(PkiError, match="reserved"):
        pki.issue(reserved, "bridge")
    assert pki.issue("school-a", "bridge").role == "bridge"


def test_a_bridge_has_rights_on_its_own_school_only(tmp_path: Path) -> None:
    from edge.security.broker_config import acl_for

    pki = Pki(tmp_path)
    pki.init("district")
    lines = acl_for(pki.issue("school-a", "bridge"))
    assert "topic write edge/v1/school-a/+/checkin" in lines and "topic read edge/v1/school-a/+/receipt" in lines
    assert not [ln for ln in lines if ln.startswith("topic") and "school-a" not in ln]
