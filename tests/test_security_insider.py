"""The broker-side attacks of issue #21, tried by an insider holding one valid certificate of the site, against
the closed broker (TLS, client certificates, the per-identity ACL and the edge_acl plugin) and a real collector —
and refused: a shared subscription that black-holes check-ins, a client-id takeover, a retained flood, a
"gateway" that is really a server's topic, and a check-in whose repeated key flips its decision."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge.central.collector.service import Collector
from edge.central.web.gates import GateMonitor
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.devtools.mosquitto import MosquittoBroker
from edge.security.pki import PkiError, Role
from tests.helpers import Watcher, client, start_collector, wait_until

SITE = "test-school"
CHECKINS = "edge/v1/+/+/checkin"


def checkin(gateway: str, seq: int, **over: Any) -> dict[str, Any]:
    e = CheckIn(
        new_event_id(), SITE, gateway, "main", "in", rfc3339_ms(), seq, "card", "p1", "granted", card_uid="0F00A1B2C3"
    ).to_dict()
    e.update(over)
    return e


@pytest.fixture
def collector(broker: MosquittoBroker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Collector]:
    c = start_collector(tmp_path / "collector.sqlite", broker, f"col-{request.node.name[:30]}")
    yield c
    c.stop()
    c.store.close()


def suback(c: mqtt.Client, topic: str) -> list[Any]:
    """The reason codes of the broker's SUBACK for `topic` (QoS 1)."""
    got: list[Any] = []
    done = threading.Event()

    def on_subscribe(_c: Any, _u: Any, _mid: Any, codes: list[Any], _p: Any) -> None:
        got.extend(codes)
        done.set()

    c.on_subscribe = on_subscribe
    c.subscribe(topic, qos=1)
    assert done.wait(10), f"no SUBACK for {topic}"
    return got


def granted(codes: list[Any]) -> bool:
    return all(not rc.is_failure for rc in codes)


# 1. shared subscriptions -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "role", "topic"),
    [
        ("gw-02", "gateway", f"$share/collectors/{CHECKINS}"),
        ("gw-02", "gateway", f"$share/g/edge/v1/{SITE}/gw-02/receipt"),  # its own topic, shared: still no
        ("test-insider-server", "server", f"$share/collectors/{CHECKINS}"),
        ("test-insider-server", "server", "$share/x/edge/v1/#"),
        ("test-operator", "operator", f"$share/collectors/edge/v1/{SITE}/+/checkin"),
        ("test-insider-col", "collector", f"$share/collectors/edge/v1/{SITE}/gw-02/receipt"),
    ],
)
def test_only_a_collector_may_join_a_shared_subscription_and_only_of_check_ins(
    broker: MosquittoBroker, name: str, role: Role, topic: str
) -> None:
    c = client(broker, name, role)
    try:
        assert not granted(suback(c, topic)), f"{role} {name} was granted {topic}"
    finally:
        c.disconnect()
        c.loop_stop()


def test_a_gateway_in_the_collectors_group_does_not_black_hole_check_ins(
    broker: MosquittoBroker, collector: Collector, watcher: Watcher
) -> None:
    group = f"$share/{collector.topic.split('/')[1]}/{CHECKINS}"  # the very group the collector is in
    attackers = [client(broker, f"gw-hole-{i}", "gateway") for i in range(3)]
    try:
        for a in attackers:
            suback(a, group)
        events = [checkin("gw-01", seq) for seq in range(1, 21)]
        for e in events:
            watcher.publish(f"edge/v1/{SITE}/gw-01/checkin", json.dumps(e).encode())
        wait_until(lambda: collector.stats.received >= 20, 20, "every check-in reached the collector")
        assert collector.stats.received == 20
    finally:
        for a in attackers:
            a.disconnect()
            a.loop_stop()
    # the control: the collector's own shared subscription is granted
    own = client(broker, "test-insider-col", "collector")
    try:
        assert granted(suback(own, f"$share/collectors/{CHECKINS}"))
    finally:
        own.disconnect()
        own.loop_stop()


# 2. client-id takeover ---------------------------------------------------------------------------------------
def test_another_identitys_client_id_does_not_take_over_its_session(
    broker: MosquittoBroker, collector: Collector, watcher: Watcher
) -> None:
    victim = client(broker, "gw-victim", "gateway", client_id="gw-victim")
    kicked = threading.Event()
    victim.on_disconnect = lambda *_a: kicked.set()
    intruders: list[tuple[str, Role, str]] = [
        ("gw-02", "gateway", collector._settings.client_id),  # a gateway posing as the collector
        ("test-insider-col", "collector", "gw-victim"),  # a collector posing as a gateway
    ]
    for name, role, target in intruders:
        intruder = client(broker, name, role, client_id=target)
        intruder.disconnect()
        intruder.loop_stop()
    # a round trip on each victim's connection: had the broker closed it for the intruder, it would be gone
    victim.publish(f"edge/v1/{SITE}/gw-victim/health", b"{}", qos=1).wait_for_publish(5)
    assert not kicked.is_set(), "the gateway was disconnected by a client with its client id"
    watcher.publish(f"edge/v1/{SITE}/gw-01/checkin", json.dumps(checkin("gw-01", 1)).encode())
    wait_until(lambda: collector.stats.stored == 1, 10, "the collector, still connected, stored the check-in")
    assert collector.stats.disconnects == 0, "the collector was disconnected by a client with its client id"
    victim.disconnect()
    victim.loop_stop()


# 6. retained flood -------------------------------------------------------------------------------------------
def publish_codes(c: mqtt.Client, messages: list[tuple[str, bytes, bool]]) -> list[Any]:
    """Publish each (topic, payload, retain) at QoS 1; the PUBACK reason codes, in order."""
    codes: dict[int, Any] = {}
    c.on_publish = lambda _c, _u, mid, rc, _p: codes.__setitem__(mid, rc)
    infos = [c.publish(t, p, qos=1, retain=r) for t, p, r in messages]
    for info in infos:
        info.wait_for_publish(5)
    wait_until(lambda: len(codes) == len(infos), 5, "every PUBACK")
    return [codes[i.mid] for i in infos]


def test_retained_messages_are_refused_where_none_belongs(broker: MosquittoBroker) -> None:
    gw = client(broker, "gw-retain", "gateway")
    base = f"edge/v1/{SITE}/gw-retain"
    try:
        flood = [(f"{base}/cmd/x{i}/result", b"x" * 1024, True) for i in range(20)]
        refused = [*flood, (f"{base}/health", b"{}", True), (f"{base}/checkin", b"{}", True)]
        codes = publish_codes(gw, [*refused, (f"{base}/status", b"online", True), (f"{base}/health", b"{}", False)])
        assert [rc.is_failure for rc in codes] == [True] * len(refused) + [False, False]
    finally:
        gw.disconnect()
        gw.loop_stop()
    # a new subscriber gets the retained status and none of the flood
    seen: list[str] = []
    sub = client(broker, "test-insider-server", "server")
    marker = threading.Event()
    sub.on_message = lambda _c, _u, m: marker.set() if m.payload == b"marker" else seen.append(m.topic)
    try:
        suback(sub, f"{base}/#")
        suback(sub, "edge/v1/servers/test-insider-server/status")  # its own, and not retained here: a marker
        sub.publish("edge/v1/servers/test-insider-server/status", b"marker", qos=1).wait_for_publish(5)
        assert marker.wait(10)
        assert seen == [f"{base}/status"]
    finally:
        sub.disconnect()
        sub.loop_stop()


def test_the_web_app_counts_bad_gateway_messages_without_a_traceback_each(
    broker: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = GateMonitor(
        "127.0.0.1", broker.port, "test-insider-web", broker.identity("test-insider-web", "server"), site_id=SITE
    )
    assert monitor.start(10)
    gw = client(broker, "gw-bad-results", "gateway")
    base = f"edge/v1/{SITE}/gw-bad-results"
    bad = [b"not json", b'{"request_id": "a", "request_id": "b"}', b"[1]", b"\xff", b"[" * 5000] * 25
    bad_health = [b'{"fps": 1, "fps": 2}', b"{"]
    try:
        infos = [gw.publish(f"{base}/cmd/x/result", p, qos=1) for p in bad]
        infos += [gw.publish(f"{base}/health", p, qos=1) for p in bad_health]
        for info in infos:
            info.wait_for_publish(5)
        wait_until(lambda: monitor.bad_messages == len(infos), 10, "every bad message counted")
        gw.publish(f"{base}/health", b'{"fps": 3}', qos=1).wait_for_publish(5)  # the control: a good one is read
        wait_until(lambda: any(g["fps"] == 3 for g in monitor.gateways(SITE)), 10, "the good health report")
    finally:
        gw.disconnect()
        gw.loop_stop()
        monitor.stop()
    mine = [r for r in caplog.records if r.name == "edge.central.web.gates" and r.levelno >= logging.WARNING]
    assert not any(r.exc_info for r in mine), "no traceback for a gateway's bad message"
    assert len(mine) == 1 and "1 gateway message(s) not understood" in mine[0].getMessage(), mine


# 9. a server's topics read as a gateway's ---------------------------------------------------------------------
def test_a_server_topic_is_never_a_gateways_check_in(broker: MosquittoBroker, collector: Collector) -> None:
    server = client(broker, "test-insider-server", "server")
    try:
        fakes = [
            (f"edge/v1/{SITE}/{fake}/checkin", json.dumps(checkin(fake, 1)).encode(), False)
            for fake in ("notify", "distribution")
        ]
        codes = publish_codes(server, fakes)
        # notify/+ is a server's (the notifier's MQTT channel, one level per guardian); distribution's are deeper
        assert [rc.is_failure for rc in codes] == [False, True]
        honest = client(broker, "gw-01", "gateway", client_id="gw-01")
        honest.publish(f"edge/v1/{SITE}/gw-01/checkin", json.dumps(checkin("gw-01", 1)).encode(), qos=1)
        wait_until(lambda: collector.stats.stored >= 1, 10, "the control check-in stored")
        wait_until(lambda: collector.stats.rejected == 1, 10, "the 'notify' gateway's check-in dead-lettered")
        honest.disconnect()
        honest.loop_stop()
        assert collector.stats.stored == 1
        assert {r["gateway_id"] for r in collector.store.checkins()} == {"gw-01"}
    finally:
        server.disconnect()
        server.loop_stop()


@pytest.mark.parametrize("name", ["notify", "distribution"])
def test_reserved_topic_names_cannot_be_gateways(broker: MosquittoBroker, name: str) -> None:
    assert broker.pki is not None
    with pytest.raises(PkiError, match="reserved"):
        broker.pki.issue(name, "gateway")


# 7. duplicate JSON keys --------------------------------------------------------------------------------------
def test_a_repeated_key_cannot_flip_a_check_ins_decision(collector: Collector, watcher: Watcher) -> None:
    text = json.dumps(checkin("gw-01", 1))  # valid as it is: granted to p1
    forged = '{"decision": "denied", ' + text[1:]  # what a reader that keeps the first key would see
    watcher.publish(f"edge/v1/{SITE}/gw-01/checkin", forged.encode())
    wait_until(lambda: collector.stats.rejected == 1, 10, "the forged check-in refused")
    assert collector.store.count() == 0
    assert any("repeats the key" in reason for reason in collector.stats.rejected_reasons), (
        collector.stats.rejected_reasons
    )


def test_the_broker_plugin_keeps_its_rules_when_a_reload_finds_a_broken_file(tmp_path: Path) -> None:
    """A rules file that cannot be read at a reload (a half-written copy, a typo) leaves the previous rules in
    force, rather than none: no shared subscription opens up, and the collectors keep theirs."""
    import signal

    with MosquittoBroker(tmp_path / "own") as own:
        col, gw = client(own, "col-keep", "collector"), client(own, "gw-keep", "gateway")
        try:
            assert own._files is not None and own._proc is not None
            own._files.rules.write_text("share col-keep\n")  # a rule without its pattern
            offset = own.log.stat().st_size
            own._proc.send_signal(signal.SIGHUP)
            wait_until(lambda: b"keeping the previous" in own.log.read_bytes()[offset:], 10, "the refused reload")
            assert granted(suback(col, f"$share/collectors/{CHECKINS}"))
            assert not granted(suback(gw, f"$share/collectors/{CHECKINS}"))
        finally:
            for c in (col, gw):
                c.disconnect()
                c.loop_stop()
