"""Provisioning or revoking a gateway takes effect at the broker and in the store's registry at once, with no
restart (#20: a new gateway's first tap was "Not authorized" while `edge doctor` said the broker accepted it).
Real closed Mosquitto (its ACL rewritten and SIGHUP sent by the tool, as broker.json says), the store on SQLite
and PostgreSQL, and `edge doctor` against a gateway the broker refuses and one it accepts."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge.central.school.edits import active_gateways
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.cli import cli
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.devtools.postgres import PostgresServer
from edge.security.broker_reload import BrokerDeployment, BrokerReloadError, apply, load, save
from edge.transport.mqtt import MqttSettings
from edge.transport.probe import NOT_AUTHORIZED, probe_publish
from tests.helpers import Watcher, gateway_config


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    else:
        url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    open_store(url).close()
    return url


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


def registry(url: str, site: str) -> list[str]:
    db = WebDb(url)
    try:
        return active_gateways(db, site)
    finally:
        db.close()


def probe(broker: MosquittoBroker, name: str) -> Any:
    assert broker.pki is not None
    settings = MqttSettings(broker.host, broker.port, f"{name}-test-probe", tls=broker.pki.tls_files(name))
    return probe_publish(settings, f"edge/v1/{broker.site}/{name}/cmd/probe/result", 5)


def test_provision_and_revoke_reach_the_broker_and_the_registry_without_a_restart(
    broker: MosquittoBroker, store_url: str, tmp_path: Path
) -> None:
    assert broker.pki is not None
    name = f"gw-{uuid.uuid4().hex[:6]}"
    pid = broker._proc.pid if broker._proc else None
    # a client connected before: a reload must not drop it
    watcher = Watcher(broker, f"edge/v1/{broker.site}/+/cmd/probe/result", client_id=f"watch-{name}")
    try:
        start = time.monotonic()
        code, out = run(
            "provision", "gateway", name, "--site", broker.site, "--server", f"127.0.0.1:{broker.port}",
            "--pki", str(broker.pki.dir), "--out", str(tmp_path / name),
            "--broker-dir", str(broker.broker_dir), "--store", store_url,
        )  # fmt: skip
        took = time.monotonic() - start
        assert code == 0, out
        assert f"sent SIGHUP to mosquitto (pid {pid})" in out
        assert f"accepts a QoS 1 publish on edge/v1/{broker.site}/{name}/cmd/probe/result" in out
        print(f"\nprovision {name} → the broker accepts it: {took:.2f} s (the whole command)")
        assert probe(broker, name).accepted, "the gateway's own identity may publish now"
        assert registry(store_url, broker.site) == [name]
        watcher.wait_for(lambda t, _p: t.endswith(f"/{name}/cmd/probe/result"), 10, "the probe, on the old link")
        assert broker._proc is not None and broker._proc.pid == pid, "reloaded, not restarted"

        code, out = run(
            "pki", "revoke", "--dir", str(broker.pki.dir), "--broker-dir", str(broker.broker_dir),
            "--store", store_url, name,
        )  # fmt: skip
        assert code == 0, out
        assert f"revoked {name}" in out and f"broker: refuses {name}" in out
        assert f"store: {broker.site}/{name} revoked" in out
        assert registry(store_url, broker.site) == []
        assert not probe(broker, name).connected, "the CRL refuses its handshake"
        assert watcher.client.is_connected()
    finally:
        watcher.close()


def test_a_broker_folder_without_a_way_to_reload_is_said(tmp_path: Path, broker: MosquittoBroker) -> None:
    assert broker.pki is not None
    dep = BrokerDeployment(tmp_path, broker.pki.dir, pidfile=tmp_path / "none.pid")
    save(dep)
    assert load(tmp_path) == dep
    with pytest.raises(BrokerReloadError, match="is Mosquitto running"):
        apply(tmp_path)
    save(BrokerDeployment(tmp_path, broker.pki.dir, reload_command=("false",)))
    with pytest.raises(BrokerReloadError, match="`false` exited 1"):
        apply(tmp_path)
    with pytest.raises(BrokerReloadError, match="edge broker config"):
        load(tmp_path / "elsewhere")


def test_reload_command_and_acl_owner_kept(tmp_path: Path, broker: MosquittoBroker) -> None:
    """The configured command reloads the real broker (here `kill -HUP PID`, as systemd's ExecReload does); the ACL
    is replaced (a new inode) with the same mode."""
    assert broker.pki is not None and broker._proc is not None
    dep = load(broker.broker_dir)
    save(BrokerDeployment(dep.dir, dep.pki_dir, reload_command=("kill", "-HUP", str(broker._proc.pid))))
    try:
        name = f"gw-{uuid.uuid4().hex[:6]}"
        broker.pki.issue(name, "gateway")
        before = (broker.broker_dir / "acl").stat()
        assert probe(broker, name).reason_code == NOT_AUTHORIZED, "issued, not yet in the broker's ACL"
        assert apply(broker.broker_dir) == f"ran `kill -HUP {broker._proc.pid}`"
        after = (broker.broker_dir / "acl").stat()
        assert after.st_ino != before.st_ino and after.st_mode == before.st_mode
        deadline = time.monotonic() + 10
        while not probe(broker, name).accepted:
            assert time.monotonic() < deadline, "the broker never accepted the gateway after the reload"
    finally:
        save(dep)


def doctor(config: Path) -> tuple[int, dict[str, Any]]:
    res = CliRunner().invoke(cli, ["doctor", "-c", str(config), "--no-devices", "--timeout", "5", "--json"])
    return res.exit_code, {c["name"]: c for c in json.loads(res.stdout)}


def test_doctor_reports_a_gateway_the_broker_refuses_and_then_accepts(broker: MosquittoBroker, tmp_path: Path) -> None:
    """The gateway's certificate is valid (the TLS handshake passes) but the broker's ACL has no rights for it:
    the doctor's QoS 1 probe gets PUBACK 0x87 and the check fails with the fix; after `edge broker refresh` it
    passes."""
    assert broker.pki is not None
    name = f"gw-{uuid.uuid4().hex[:6]}"
    broker.pki.issue(name, "gateway")  # what `edge pki issue` alone did: the ACL was never regenerated
    reader = {"id": "reader-1", "port": f"socket://127.0.0.1:{free_port()}"}  # --no-devices: never opened
    gate = {"id": "main-in", "direction": "in", "mode": "card", "cameras": [], "readers": [reader]}
    config = gateway_config(tmp_path, broker, name, gate, "person_id,name,class,card_uid\n")
    code, checks = doctor(config)
    assert code == 1, checks
    assert checks["broker"]["status"] == "fail", checks["broker"]
    assert "PUBACK 0x87 Not authorized" in checks["broker"]["detail"]
    assert "--broker-dir" in checks["broker"]["fix"]
    code, out = run("broker", "refresh", "--dir", str(broker.broker_dir))
    assert code == 0, out
    deadline = time.monotonic() + 10
    while True:
        code, checks = doctor(config)
        if checks["broker"]["status"] == "ok" or time.monotonic() > deadline:
            break
    assert checks["broker"]["status"] == "ok", checks["broker"]
    assert "accepts this gateway" in checks["broker"]["detail"] and "PUBACK 0x" in checks["broker"]["detail"]
