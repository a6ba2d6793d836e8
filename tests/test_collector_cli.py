"""`edge collector run` on the closed (TLS) broker: `--pki DIR --id NAME` and `--ca/--cert/--key` each connect
a real collector process that stores a gateway's check-in and answers it; wrong or missing TLS options stop it
before it connects, with the reason in words (exit 2), instead of a collector that silently receives nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner

from edge.central.store import open_store
from edge.cli import cli
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.devtools.mosquitto import MosquittoBroker
from edge.security.pki import Pki
from tests.helpers import Watcher, client


@pytest.fixture
def name() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def gateway(broker: MosquittoBroker) -> Iterator[str]:
    """A gateway of the test site, issued before the collector starts (`--pki` reads the known gateways once)."""
    broker.identity("gw-cli", "gateway")
    yield "gw-cli"


def _checkin(site: str, gateway: str) -> CheckIn:
    return CheckIn(new_event_id(), site, gateway, "main", "in", rfc3339_ms(), 1, "card", "p1", "granted",
                   card_uid="0F00A1B2C3")  # fmt: skip


def _collect(
    broker: MosquittoBroker,
    watcher: Watcher,
    tmp: Path,
    name: str,
    tls_args: list[str],
    sends: list[tuple[mqtt.Client | None, CheckIn]],
) -> dict[str, str]:
    """Run `edge collector run` as its own process, publish each check-in (as its gateway, or with the client
    given), and return {event_id: receipt status}; the process must stop cleanly on SIGTERM."""
    db = tmp / f"{name}.sqlite"
    cmd = [sys.executable, "-m", "edge", "collector", "run", "--host", broker.host, "--port", str(broker.port)]
    cmd += ["--id", name, "--group", name, "--store", f"sqlite:///{db}", "--metrics", "off", *tls_args]
    log = (tmp / f"{name}.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    statuses: dict[str, str] = {}
    try:
        status_topic = f"edge/v1/collectors/{name}/status"
        watcher.wait_for(lambda t, p: t == status_topic and p == b"online", 30, f"{name} online")
        for publisher, e in sends:
            topic = f"edge/v1/{e.site_id}/{e.gateway_id}/checkin"
            if publisher is None:
                watcher.publish(topic, e.to_json().encode())
            else:
                publisher.publish(topic, e.to_json().encode(), qos=1).wait_for_publish(5)
        ids = {e.event_id for _, e in sends}
        while set(statuses) != ids:
            _, body = watcher.wait_for(
                lambda t, p: t.endswith("/receipt") and json.loads(p).get("event_id") in ids, 20, "the receipts"
            )
            statuses[json.loads(body)["event_id"]] = json.loads(body)["status"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
    assert proc.returncode == 0, (tmp / f"{name}.log").read_text()
    store = open_store(f"sqlite:///{db}", auto_migrate=False)
    try:
        stored = {r["event_id"] for r in store.checkins()}
    finally:
        store.close()
    assert stored == {eid for eid, status in statuses.items() if status == "stored"}
    return statuses


def test_pki_and_id(broker: MosquittoBroker, watcher: Watcher, gateway: str, name: str, tmp_path: Path) -> None:
    broker.identity(name, "collector")
    assert broker.pki is not None
    e = _checkin(broker.site, gateway)
    assert _collect(broker, watcher, tmp_path, name, ["--pki", str(broker.pki.dir)], [(None, e)]) == {
        e.event_id: "stored"
    }


def test_ca_cert_key(broker: MosquittoBroker, watcher: Watcher, gateway: str, name: str, tmp_path: Path) -> None:
    tls = broker.identity(name, "collector")
    assert tls is not None
    args = ["--ca", str(tls.ca), "--cert", str(tls.cert), "--key", str(tls.key)]
    e = _checkin(broker.site, gateway)
    assert _collect(broker, watcher, tmp_path, name, args, [(None, e)]) == {e.event_id: "stored"}


def test_pki_of_a_district_accepts_its_bridged_schools(
    broker: MosquittoBroker, watcher: Watcher, gateway: str, name: str, tmp_path: Path
) -> None:
    """At the district, the schools' gateways are not in the PKI, their bridges are: `--pki` accepts every gateway
    of a bridged school (the ACL already keeps each bridge to its school), and still dead-letters a gateway it
    did not know when it started (issued later: the list is read once)."""
    broker.identity(name, "collector")
    broker.identity("bridged-school", "bridge")
    assert broker.pki is not None
    bridge = client(broker, "bridged-school", "bridge")
    try:
        bridged, late = _checkin("bridged-school", "gw-7"), _checkin(broker.site, f"late-{name}")
        statuses = _collect(
            broker, watcher, tmp_path, name, ["--pki", str(broker.pki.dir)], [(bridge, bridged), (None, late)]
        )
    finally:
        bridge.disconnect()
        bridge.loop_stop()
    assert statuses == {bridged.event_id: "stored", late.event_id: "rejected"}


def _refused(args: list[str]) -> str:
    """Output of a collector run that must stop before connecting (exit 2: a usage error)."""
    result = CliRunner().invoke(cli, ["collector", "run", "--port", "1", "--metrics", "off", *args])
    assert result.exit_code == 2, result.output
    return result.output


def test_missing_and_wrong_tls_options_are_clear_errors(broker: MosquittoBroker, name: str, tmp_path: Path) -> None:
    assert broker.pki is not None
    tls = broker.identity(name, "collector")
    gw = broker.identity("gw-cli", "gateway")
    assert tls is not None and gw is not None
    other = Pki(tmp_path / "other-pki")
    other.init("other-school")
    stranger = other.tls_files(other.issue("c-elsewhere", "collector").name)
    ca, cert, key = ["--ca", str(tls.ca)], ["--cert", str(tls.cert)], ["--key", str(tls.key)]

    assert "closed by default" in _refused([])
    assert "go together" in _refused([*ca, *cert])
    assert "does not exist" in _refused(["--ca", str(tmp_path / "nope.crt"), *cert, *key])
    assert "not issued" in _refused(["--pki", str(broker.pki.dir), "--id", "nobody-here"])
    assert "only a collector" in _refused(["--pki", str(broker.pki.dir), "--id", "gw-cli"])
    assert "not issued by the CA" in _refused([*ca, "--cert", str(stranger.cert), "--key", str(stranger.key)])
    assert "is not the key of" in _refused([*ca, *cert, "--key", str(gw.key)])
    assert "only a collector" in _refused([*ca, "--cert", str(gw.cert), "--key", str(gw.key)])
    (tmp_path / "garbage.crt").write_text("not a certificate\n")
    assert "not a PEM certificate" in _refused([*ca, "--cert", str(tmp_path / "garbage.crt"), *key])
