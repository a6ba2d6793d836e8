"""The collector on a real broker: valid check-ins stored once; malformed ones counted, kept aside, never fatal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.central.collector.service import Collector
from edge.central.store import open_store
from edge.contract.checkin import new_event_id
from edge.devtools.mosquitto import MosquittoBroker
from tests.collector_support import TOPIC, event
from tests.helpers import Watcher, start_collector, wait_until


@pytest.fixture
def collector(broker: MosquittoBroker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Collector]:
    c = start_collector(tmp_path / "collector.sqlite", broker, f"col-{request.node.name[:30]}")
    yield c
    c.stop()
    c.store.close()


def test_stores_valid_and_ignores_duplicates(collector: Collector, watcher: Watcher) -> None:
    e1, e2 = event(1), event(2)
    for e in (e1, e2, e1):
        watcher.publish(TOPIC, json.dumps(e).encode())
    # stats.received moves when a message arrives, before it is handled: wait for the outcomes
    wait_until(lambda: collector.stats.stored + collector.stats.duplicates == 3, 10, "three messages handled")
    assert collector.store.count() == 2
    assert collector.stats.duplicates == 1 and collector.stats.received == 3
    rows = list(collector.store.checkins())
    assert {r["event_id"] for r in rows} == {e1["event_id"], e2["event_id"]}
    assert json.loads(rows[0]["payload"]) in (e1, e2)


def test_check_in_versions_1_and_2_are_both_stored_during_the_migration(collector: Collector, watcher: Watcher) -> None:
    """A gateway not yet upgraded sends v1 (its face score called `distance`); an upgraded one v2 (`similarity`)."""
    base = {k: v for k, v in event(1).items() if k != "card_uid"} | {"method": "face"}
    v1 = base | {"schema_version": 1, "distance": 0.98}
    v2 = base | {"event_id": new_event_id(), "seq": 2, "similarity": 0.52}
    for e in (v1, v2):
        watcher.publish(TOPIC, json.dumps(e).encode())
    wait_until(lambda: collector.stats.stored == 2, 10, "both versions stored")
    rows = {r["seq"]: r for r in collector.store.checkins()}
    assert rows[1]["distance"] == 0.98 and json.loads(rows[1]["payload"])["schema_version"] == 1
    assert rows[2]["distance"] is None and json.loads(rows[2]["payload"])["similarity"] == 0.52


BAD: list[tuple[str, str, bytes]] = [
    ("not JSON", TOPIC, b"{not json"),
    ("not UTF-8", TOPIC, b"\xff\xfe\x00"),
    ("array", TOPIC, b"[1,2]"),
    ("wrong schema version", TOPIC, json.dumps(event(3, schema_version=99)).encode()),
    ("missing fields", TOPIC, json.dumps({"schema_version": 1, "event_id": new_event_id()}).encode()),
    ("wrong types", TOPIC, json.dumps({**event(4), "seq": "four"}).encode()),
    ("huge", TOPIC, b'{"pad":"' + b"x" * 100_000 + b'"}'),
    ("topic/payload mismatch", "edge/v1/test-school/other-gw/checkin", json.dumps(event(5)).encode()),
    ("empty", TOPIC, b""),
]


def test_malformed_payloads_are_rejected_and_it_keeps_running(collector: Collector, watcher: Watcher) -> None:
    for _, topic, payload in BAD:
        watcher.publish(topic, payload)
    wait_until(lambda: collector.store.count("rejected") == len(BAD), 10, "all dead-lettered")
    assert collector.stats.rejected == len(BAD)
    assert collector.store.count() == 0
    reasons = [r["reason"] for r in collector.store.rejects()]
    assert reasons[0].startswith("payload is not JSON")
    assert reasons[3].startswith("unsupported schema_version 99 (this collector reads 1 and 2)")
    assert reasons[5] == "schema: data.seq must be integer"
    assert reasons[6].startswith("payload too large")
    assert reasons[7].startswith("topic says test-school/other-gw but payload says test-school/gw-1")

    good = event(6)  # still alive and storing
    watcher.publish(TOPIC, json.dumps(good).encode())
    wait_until(lambda: collector.store.count() == 1, 10, "the valid event after the bad ones")


def test_unknown_gateway_is_dead_lettered_when_a_list_is_given(
    broker: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    c = Collector(
        open_store(str(tmp_path / "c.sqlite")),
        host="127.0.0.1",
        port=broker.port,
        collector_id="col-known",
        tls=broker.identity("col-known", "collector"),
        known_gateways={"test-school/gw-1"},
    )
    c.start()
    try:
        assert c.wait_ready(10)
        stranger = event(1, gateway_id="gw-evil")
        watcher.publish("edge/v1/test-school/gw-evil/checkin", json.dumps(stranger).encode())
        watcher.publish(TOPIC, json.dumps(event(2)).encode())
        wait_until(lambda: c.stats.rejected == 1 and c.store.count() == 1, 10, "one stored, one dead-lettered")
        [reason] = [r["reason"] for r in c.store.rejects()]
        assert reason == "unknown gateway: test-school/gw-evil is not in the collector's list of gateways"
        # the rejected event still gets a receipt, so its gateway stops re-sending it
        watcher.wait_for(
            lambda t, p: t == "edge/v1/test-school/gw-evil/receipt" and json.loads(p)["status"] == "rejected",
            10,
            "receipt",
        )
    finally:
        c.stop()
        c.store.close()


def test_two_collectors_in_one_group_split_the_stream_and_store_each_once(
    broker: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    db = tmp_path / "shared.sqlite"
    collectors = [
        Collector(
            open_store(str(db)),
            host="127.0.0.1",
            port=broker.port,
            collector_id=f"col-pair-{i}",
            tls=broker.identity(f"col-pair-{i}", "collector"),
            group="pair",
        )
        for i in (1, 2)
    ]
    for c in collectors:
        c.start()
    try:
        assert all(c.wait_ready(10) for c in collectors)
        events = [event(seq) for seq in range(1, 41)]
        for e in events:
            watcher.publish(TOPIC, json.dumps(e).encode())
        watcher.publish(TOPIC, json.dumps(events[0]).encode())  # a retry of seq 1: same event_id
        wait_until(lambda: sum(c.stats.stored + c.stats.duplicates for c in collectors) == 41, 15, "all committed")
        assert all(c.stats.received > 0 for c in collectors), "the broker shared the stream"
        assert sum(c.stats.stored for c in collectors) == 40 and sum(c.stats.duplicates for c in collectors) == 1
        assert collectors[0].store.count() == 40
    finally:
        for c in collectors:
            c.stop()
            c.store.close()
