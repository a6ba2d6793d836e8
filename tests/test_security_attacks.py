"""Each attack of issue #6, tried as an attacker on the network would, against the closed broker (TLS, client
certificates, the per-identity ACL), a real gateway and a real collector — and refused."""

from __future__ import annotations

import json
import queue
import ssl
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from edge.transport.subscriber import Subscriber
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.gateway_support import gateway_cfg
from tests.helpers import Watcher, client, signed, start_collector, wait_until

GW = "gw-e2e"  # gateway_cfg's gateway id
BASE = f"edge/v1/test-school/{GW}"


@pytest.fixture
def gateway(broker: MosquittoBroker, tmp_path: Path) -> Iterator[tuple[Gateway, Rdm6300Simulator]]:
    sim = Rdm6300Simulator().start()
    cfg = load_config(gateway_cfg(tmp_path, broker, sim.url, None, broker={"receipt_timeout_s": 8.0}))
    gw = Gateway(cfg)
    gw.start()
    wait_until(lambda: gw.transport is not None and gw.transport.connected, 10, "gateway connected")
    try:
        yield gw, sim
    finally:
        gw.stop()
        sim.stop()


def connect_result(broker: MosquittoBroker, configure: Any) -> bool:
    """Whether a client set up by `configure` gets a CONNACK success from the broker within 5 s."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder", protocol=mqtt.MQTTv5)
    configure(c)
    ok = threading.Event()
    c.on_connect = lambda _c, _u, _f, rc, _p: ok.set() if not rc.is_failure else None
    try:
        c.connect("127.0.0.1", broker.port)
    except (OSError, ssl.SSLError):
        return False
    c.loop_start()
    try:
        return ok.wait(3)
    finally:
        c.loop_stop()


def test_anonymous_plaintext_and_certificateless_clients_are_refused(broker: MosquittoBroker) -> None:
    assert not connect_result(broker, lambda c: None), "plaintext, anonymous"
    ca = broker.identity("test-watcher", "server")
    assert ca is not None
    assert not connect_result(broker, lambda c: c.tls_set(ca_certs=str(ca.ca))), "TLS without a client certificate"
    assert connect_result(broker, lambda c: c.tls_set(str(ca.ca), str(ca.cert), str(ca.key))), "the control case"


def test_a_revoked_certificate_is_refused_after_the_broker_reloads(broker: MosquittoBroker) -> None:
    tls = broker.identity("gw-stolen", "gateway")
    assert tls is not None
    assert connect_result(broker, lambda c: c.tls_set(str(tls.ca), str(tls.cert), str(tls.key)))
    broker.revoke("gw-stolen")  # writes CRL + ACL, SIGHUP
    assert not connect_result(broker, lambda c: c.tls_set(str(tls.ca), str(tls.cert), str(tls.key)))
    other = broker.identity("gw-honest", "gateway")
    assert other is not None
    assert connect_result(broker, lambda c: c.tls_set(str(other.ca), str(other.cert), str(other.key)))


def test_one_gateway_cannot_forge_another_gateways_check_ins_or_read_its_commands(
    broker: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    collector = start_collector(tmp_path / "c.sqlite", broker, "col-forgery")
    spy = Subscriber(broker.port, "edge/v1/test-school/gw-01/#", client_id="gw-02-spy", tls=broker.identity("gw-02"))
    mallory = spy.client  # one connection per identity: gw-02 spies and forges over the same one
    try:
        forged = {"event_id": "7d5b1c1e-0d4e-4a57-9a55-1c1d1e1f2021", "seq": 1, "site_id": "test-school"}
        mallory.publish("edge/v1/test-school/gw-01/checkin", json.dumps(forged).encode(), qos=1).wait_for_publish(5)
        mallory.publish("edge/v1/test-school/gw-404/checkin", json.dumps(forged).encode(), qos=1).wait_for_publish(5)
        # the operator's command to gw-01 and gw-01's own health: the spy (gw-02) sees neither
        watcher.publish("edge/v1/test-school/gw-01/cmd/reload_roster", b"{}")
        honest = client(broker, "gw-01", "gateway", client_id="gw-01-pub")
        honest.publish("edge/v1/test-school/gw-01/health", b'{"uptime_s": 1}', qos=1).wait_for_publish(5)
        watcher.wait_for(lambda t, p: t == "edge/v1/test-school/gw-01/health", 5, "the control: server sees health")
        # and a valid check-in from gw-02 itself, to know the collector was listening all along
        own = dict(forged, gateway_id="gw-02")
        mallory.publish("edge/v1/test-school/gw-02/checkin", json.dumps(own).encode(), qos=1).wait_for_publish(5)
        wait_until(lambda: collector.stats.received >= 1, 10, "gw-02's own message reached the collector")
        assert collector.stats.received == 1, "only gw-02's message on its own topic reached the collector"
        with pytest.raises(queue.Empty):
            spy.messages.get(timeout=1.0)
        honest.disconnect()
    finally:
        spy.close()
        collector.stop()


def test_forged_receipts_cannot_erase_a_check_in(
    broker: MosquittoBroker, gateway: tuple[Gateway, Rdm6300Simulator], tmp_path: Path
) -> None:
    gw, sim = gateway
    wait_until(sim.client_connected.is_set, 10, "reader open")
    sim.tap("62E3086CED", repeats=1)
    wait_until(lambda: gw.outbox.depth() == 1 and gw.outbox.last_seq() == 1, 10, "check-in in the outbox")
    # 1. another gateway cannot publish receipts at all (ACL); 2. even a collector's receipt erases nothing
    #    unless it names the row's event_id; 3. oversized receipts are dropped unread
    mallory = client(broker, "gw-02", "gateway", client_id="gw-02-receipts")
    rogue = client(broker, "rogue-collector", "collector")
    try:
        mallory.publish(f"{BASE}/receipt", b'{"seq":1,"status":"stored"}', qos=1).wait_for_publish(5)
        for body in (
            b'{"seq":1,"status":"stored"}',
            b'{"seq":1,"event_id":null,"status":"rejected"}',
            b'{"seq":1,"event_id":"00000000-0000-4000-8000-000000000000","status":"stored"}',
            b"[" * 3000 + b"]" * 3000,
            b'{"seq":1,"pad":"' + b"x" * 100_000 + b'"}',
        ):
            rogue.publish(f"{BASE}/receipt", body, qos=1).wait_for_publish(5)
        wait_until(lambda: gw.forwarder.stats.bad_receipts >= 5, 10, "bad receipts counted")
        assert gw.outbox.depth() == 1, "the check-in is still in the outbox"
    finally:
        mallory.disconnect()
        rogue.disconnect()
    # the control: the real collector's receipt (with the event_id) does remove it
    collector = start_collector(tmp_path / "c.sqlite", broker, "col-receipts")
    try:
        wait_until(lambda: gw.outbox.depth() == 0, 30, "the genuine receipt (after the re-send at receipt_timeout_s)")
        assert collector.stats.stored == 1
    finally:
        collector.stop()


def results(watcher: Watcher, name: str, request_id: str, timeout: float = 10) -> dict[str, Any]:
    _, payload = watcher.wait_for(
        lambda t, p: t == f"{BASE}/cmd/{name}/result" and json.loads(p).get("request_id") == request_id,
        timeout,
        f"result of {request_id}",
    )
    body: dict[str, Any] = json.loads(payload)
    return body


def test_unsigned_forged_stale_and_replayed_commands_are_refused(
    broker: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    sim = Rdm6300Simulator().start()
    cfg = load_config(gateway_cfg(tmp_path, broker, sim.url, None))
    gw = Gateway(cfg)
    gw.start()
    try:
        wait_until(lambda: gw.transport is not None and gw.transport.connected, 10, "gateway connected")
        cases = {
            "unsigned": {"request_id": "unsigned", "ms": 60000},
            "anything": {"request_id": "anything", "ms": 60000, "signature": "anything"},
            "gateway-key": signed(broker, GW, "open_gate", {"request_id": "gateway-key"}, "gw-01", "gateway"),
            "other-gateway": signed(broker, "gw-other", "open_gate", {"request_id": "other-gateway"}),
        }
        for rid, body in cases.items():
            watcher.publish(f"{BASE}/cmd/open_gate", json.dumps(body).encode())
            r = results(watcher, "open_gate", rid)
            assert r["ok"] is False and r["error"].startswith("refused:"), r
        import datetime as dt

        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=120)
        watcher.publish(
            f"{BASE}/cmd/lock_down",
            json.dumps(signed(broker, GW, "lock_down", {"request_id": "old"}, now=old)).encode(),
        )
        assert "stale" in results(watcher, "lock_down", "old")["error"]

        good = signed(broker, GW, "reload_roster", {"request_id": "good"})
        watcher.publish(f"{BASE}/cmd/reload_roster", json.dumps(good).encode())
        assert results(watcher, "reload_roster", "good")["ok"] is True  # the control: a signed command runs
        assert gw.commands.authorizer is not None and gw.commands.authorizer.refused == 5
    finally:
        gw.stop()
    # the same signed request again, after a restart: refused (nonces are in the gateway's database)
    gw = Gateway(cfg)
    gw.start()
    try:
        wait_until(lambda: gw.transport is not None and gw.transport.connected, 10, "gateway connected again")
        # "connected" is before the gateway's SUBSCRIBE is acknowledged: a command sent at once can reach the
        # broker first (clean session: not kept), so it is sent again, as an operator would, until answered
        deadline = time.monotonic() + 20
        while True:
            watcher.publish(f"{BASE}/cmd/reload_roster", json.dumps(good).encode())
            try:
                answer = results(watcher, "reload_roster", "good", timeout=2)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        assert "replayed" in answer["error"]
    finally:
        gw.stop()
        sim.stop()


def test_oversized_commands_never_reach_the_gateway(
    broker: MosquittoBroker, watcher: Watcher, gateway: tuple[Gateway, Rdm6300Simulator]
) -> None:
    gw, _ = gateway
    op = client(broker, "test-operator", "operator", client_id="op-flood")
    gone = threading.Event()
    op.on_disconnect = lambda *_a: gone.set()
    op.publish(f"{BASE}/cmd/open_gate", b"x" * 10_000_000, qos=1)
    assert gone.wait(10), "the broker drops a client that sends a packet over max_packet_size"
    op.loop_stop()
    assert gw.commands.handled + gw.commands.failed == 0
    # under the broker's limit but over the gateway's: refused unread
    watcher.publish(f"{BASE}/cmd/open_gate", b"y" * 100_000)
    r = results(watcher, "open_gate", None)  # type: ignore[arg-type]
    assert r["error"] == "request too large"


def test_gateway_files_are_private(gateway: tuple[Gateway, Rdm6300Simulator], tmp_path: Path) -> None:
    db = tmp_path / "gateway.sqlite"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    for companion in (tmp_path / "gateway.sqlite-wal", tmp_path / "gateway.sqlite-shm"):
        if companion.exists():
            assert stat.S_IMODE(companion.stat().st_mode) & 0o077 == 0
