"""At rest and in logs (issue #21, item 8): files with personal data or secrets are not readable by other users
(roster and guardians from the web upload and from provisioning, the demo's central.yaml with its webhook secret,
its logs); the gateway's logs show a card UID's last 4 digits only; `pg_dump` gets the store's password in its
environment, never in its argv (which any user reads in /proc); the CRL and the revocation list are replaced
atomically (a reader sees the whole old file or the whole new one, never a torn CRL)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from edge.central.roster_import import apply_preview, make_preview
from edge.central.school.files import import_central
from edge.central.school.state import load_school
from edge.central.store import open_store
from edge.central.store.pg_bin import find_pg_bin
from edge.central.web.db import WebDb
from edge.cli import cli
from edge.config.central import load_central_config, parse_central_text
from edge.demo.processes import spawn
from edge.demo.school import write_school
from edge.devtools.mosquitto import MosquittoBroker
from edge.devtools.postgres import PostgresServer
from edge.security.pki import Pki
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.gateway_support import gateway_cfg
from tests.helpers import Watcher, wait_until

CENTRAL = """\
schools:
  - id: s1
    name: School
    calendar: {terms: [{name: T, start: 2026-09-05, end: 2027-05-29}]}
    roster: data/roster.csv
    guardians: data/guardians.csv
    channels: [{name: app, type: mqtt}]
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_school_export_is_private(tmp_path: Path) -> None:
    """The roster now lives in the store (an upload writes no file); what leaves it as files — `edge school
    export` — is 0600: card UIDs and parents' contacts."""
    from datetime import date

    from edge.central.school.files import export_school, import_central
    from edge.central.web.db import WebDb

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "roster.csv").write_text("person_id,name,class,card_uid\nan,An,6A,0F00A1B2C3\n")
    (tmp_path / "data" / "guardians.csv").write_text(
        "person_id,name,phone,email,channel,language,kinds\nan,Me,,,app,vi,\n"
    )
    cfg = parse_central_text(CENTRAL, env={}, base_dir=tmp_path)
    url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    open_store(url).close()
    db = WebDb(url)
    try:
        import_central(db, cfg, today=date(2026, 9, 7))
        paths = export_school(db, "s1", tmp_path / "export")
    finally:
        db.close()
    assert sorted(p.name for p in paths) == ["guardians.csv", "roster.csv", "school.yaml"]
    assert all(mode(p) == 0o600 for p in paths), [oct(mode(p)) for p in paths]
    assert "0F00A1B2C3" in (tmp_path / "export" / "roster.csv").read_text()


def test_a_roster_upload_leaves_no_file_behind(tmp_path: Path) -> None:
    """Since #20 a web upload writes the store, not roster.csv/guardians.csv: no new file, no dated backup copy
    (which once had to be made private) appears anywhere beside the school's files."""
    (tmp_path / "data").mkdir()
    roster, guardians = tmp_path / "data" / "roster.csv", tmp_path / "data" / "guardians.csv"
    roster.write_text("person_id,name,class,card_uid\nan,An,6A,0F00A1B2C3\n", encoding="utf-8")
    guardians.write_text("person_id,name,phone,email,channel,language,kinds\n", encoding="utf-8")
    cfg = parse_central_text(CENTRAL, env={}, base_dir=tmp_path)
    url = f"sqlite:///{tmp_path / 'store' / 'centre.sqlite'}"
    (tmp_path / "store").mkdir()
    open_store(url).close()
    db = WebDb(url)
    try:
        import_central(db, cfg, today=date(2026, 9, 1))
        before = sorted(p for p in tmp_path.rglob("*") if "store" not in p.parts)
        school = cfg.schools[0]
        upload = b"person_id,name,class,card_uid\nan,An,6A,0F00A1B2C3\nbinh,Binh,6A,0F00A1B2C4\n"
        pv = make_preview(school, upload, b"person_id,name,phone,email,channel,language,kinds\nan,Me,,,app,vi,\n",
                          current=load_school(db, school.id), today=date(2026, 9, 7))  # fmt: skip
        assert pv.ok, pv.errors
        applied = apply_preview(db, school, pv, today=date(2026, 9, 7))
        assert applied.roster is not None and applied.roster.added == ["binh"]
        assert sorted(p for p in tmp_path.rglob("*") if "store" not in p.parts) == before
    finally:
        db.close()


def test_a_provisioned_roster_is_private(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    pki.init("st-marys")
    roster = tmp_path / "roster.csv"
    roster.write_text("person_id,name,class,card_uid\nan,An,6A,0F00A1B2C3\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["provision", "gateway", "gw-north", "--site", "st-marys", "--server", "mqtt.school.example", "--pki",
         str(pki.dir), "--out", str(out), "--roster", str(roster), "--prefix", str(Path(sys.prefix).parent)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert mode(out / "roster.csv") == 0o600 and mode(out / "tls" / "gateway-gw-north.key") == 0o600


def test_the_demos_school_files_and_logs_are_private(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parent.parent / "edge" / "demo" / "data"
    school = write_school(
        tmp_path / "school", data, smtp_port=2525, smtp_cafile=tmp_path / "ca.pem", webhook_url="http://127.0.0.1:9/"
    )
    assert "secret" in school.central.read_text()
    assert {f.name: mode(f) for f in (school.roster, school.guardians, school.central)} == {
        "roster.csv": 0o600, "guardians.csv": 0o600, "central.yaml": 0o600,
    }  # fmt: skip
    child = spawn("version", ["--help"], tmp_path / "logs")
    assert child.proc.wait(60) == 0
    assert mode(child.log) == 0o600 and "Usage" in child.log.read_text()


@pytest.fixture
def sim() -> Iterator[Rdm6300Simulator]:
    with Rdm6300Simulator() as s:
        yield s


def test_gateway_logs_show_only_a_card_uids_last_digits(
    broker: MosquittoBroker, watcher: Watcher, sim: Rdm6300Simulator, tmp_path: Path
) -> None:
    cfg = gateway_cfg(tmp_path, broker, sim.url, None)
    log = tmp_path / "gateway.log"
    with log.open("ab") as fh:
        gw = subprocess.Popen([sys.executable, "-m", "edge", "gateway", "run", "-c", str(cfg)], stdout=fh, stderr=fh)
    try:
        watcher.wait_for(lambda t, p: t.endswith("/gw-e2e/status") and p == b"online", 20, "online")
        wait_until(sim.client_connected.is_set, 10, "reader connected")
        # a card on the roster (rose) and one that is not: tapped until read, debounced to one check-in each
        for uid in ("62E3086CED", "0F00D4E5F6"):

            def logged(u: str = uid) -> bool:
                return sim.tap(u, repeats=1) > 0 and f"card=…{u[-4:]}" in log.read_text()

            wait_until(logged, 15, uid)
    finally:
        gw.terminate()
        gw.wait(15)
    text = log.read_text()
    assert text.count("check-in seq=") >= 2
    assert "62E3086CED" not in text and "0F00D4E5F6" not in text, "a whole card UID in the gateway's log"


@pytest.fixture
def recorded_pg_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real pg_dump behind a first-on-PATH script that records the argv and PGPASSWORD it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "pg_dump"
    record = tmp_path / "pg_dump.call"
    shim.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" > {record}\n'
        f'printf "%s\\n" "${{PGPASSWORD-}}" >> {record}\n'
        f'exec {find_pg_bin("pg_dump")} "$@"\n'
    )
    shim.chmod(0o700)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return record


def test_pg_dump_gets_the_password_in_its_environment(
    postgres: PostgresServer, recorded_pg_dump: Path, tmp_path: Path
) -> None:
    url = postgres.fresh_database().replace("postgres@", "postgres:s3cret-Passw0rd@")  # the test server trusts all
    res = CliRunner().invoke(cli, ["db", "backup", "--store", url, str(tmp_path / "dump.pgc")])
    assert res.exit_code == 0, res.output
    argv, password = recorded_pg_dump.read_text().splitlines()
    assert "s3cret-Passw0rd" not in argv and "--format=custom" in argv
    assert password == "s3cret-Passw0rd"
    assert (tmp_path / "dump.pgc").read_bytes().startswith(b"PGDMP")


def test_the_crl_and_the_revocation_list_are_replaced_atomically(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    pki.init("s1")
    for name in ("gw-1", "gw-2"):
        pki.issue(name, "gateway")
    assert pki.revoke("gw-1")
    revoked = next(p for p in pki.dir.iterdir() if p.name.startswith("revoked"))
    crl_mode, list_mode = mode(pki.crl_path), mode(revoked)
    # a reader with the files open (the broker re-reading its CRL) …
    with pki.crl_path.open("rb") as crl_reader, revoked.open("rb") as list_reader:
        old_crl, old_list = pki.crl_path.read_bytes(), revoked.read_bytes()
        assert pki.revoke("gw-2")
        # … keeps reading the whole old file: the new one was renamed over it, not written into it
        assert crl_reader.read() == old_crl and list_reader.read() == old_list
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert len(list(crl)) == 2 and len(json.loads(revoked.read_text())) == 2
    assert (mode(pki.crl_path), mode(revoked)) == (crl_mode, list_mode)
    assert not [p for p in pki.dir.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("file_mode", "secret", "warned"),
    [(0o644, "s3cret-s3cret-s3cret", True), (0o600, "s3cret-s3cret-s3cret", False),
     (0o640, "s3cret-s3cret-s3cret", False), (0o644, "\"${EDGE_WEBHOOK_SECRET}\"", False)],
)  # fmt: skip
def test_a_world_readable_central_yaml_with_a_secret_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, file_mode: int, secret: str, warned: bool
) -> None:
    path = tmp_path / "central.yaml"
    path.write_text(
        "schools:\n  - id: s1\n    name: S\n    calendar: {terms: [{name: T, start: 2026-09-05, end: 2027-05-29}]}\n"
        f'    channels: [{{name: app, type: webhook, url: "http://127.0.0.1:9/", secret: {secret}}}]\n'
    )
    path.chmod(file_mode)
    with caplog.at_level("WARNING"):
        cfg = load_central_config(path, env={"EDGE_WEBHOOK_SECRET": "from-the-environment-0123"})
    assert cfg.schools[0].channels[0].name == "app"
    assert ("readable by every user" in caplog.text and "holds secret" in caplog.text) is warned
