"""No poison message, and receipts that cannot erase data (#6), on a real broker.

Whatever arrives — 3,000 nested arrays, invalid UTF-8, NUL characters, a payload of only {"seq": 3} — is
dead-lettered and acknowledged, and the next valid check-in is stored. A receipt is sent only under a valid
event_id whose row was stored, found duplicate or dead-lettered under that id."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.central.collector.service import Collector
from edge.devtools.mosquitto import MosquittoBroker
from tests.collector_support import TOPIC, event
from tests.helpers import Watcher, start_collector, wait_until

RECEIPTS = "edge/v1/test-school/gw-1/receipt"


@pytest.fixture
def collector(broker: MosquittoBroker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Collector]:
    c = start_collector(tmp_path / "collector.sqlite", broker, f"poison-{request.node.name[:30]}")
    yield c
    c.stop()
    c.store.close()


def receipts(watcher: Watcher) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    while True:
        try:
            topic, payload, _ = watcher.messages.get_nowait()
        except queue.Empty:
            return out
        if topic == RECEIPTS:
            out.append(json.loads(payload))


def test_deeply_nested_check_in_is_dead_lettered_and_the_next_one_stored(
    collector: Collector, watcher: Watcher
) -> None:
    deep = b'{"schema_version":1,"seq":7,"x":' + b"[" * 3000 + b"]" * 3000 + b"}"
    assert len(deep) < 7000
    watcher.publish(TOPIC, deep)
    good = event(8)
    watcher.publish(TOPIC, json.dumps(good).encode())
    wait_until(lambda: collector.store.count() == 1, 15, "the valid check-in after the deep one")
    assert not collector.fatal.is_set()
    (reject,) = collector.store.rejects()
    assert reject["reason"].startswith("payload nested too deep") and reject["event_id"] is None


def test_every_kind_of_poison_is_dead_lettered(collector: Collector, watcher: Watcher) -> None:
    poison = [
        b"\xff\xfe\xfd",  # not UTF-8
        b'{"a":"' + b"x" * 20_000 + b'"}',  # too large
        json.dumps({**event(1), "person_id": "a\u0000b"}).encode(),  # NUL: PostgreSQL cannot store it
        json.dumps({**event(2), "person_id": "\ud800"}).encode(),  # a lone surrogate: no driver encodes it
        b'{"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "t": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[["}',  # brackets in strings
        b"[" * 100_000,
    ]
    for p in poison:
        watcher.publish(TOPIC, p)
    watcher.publish(TOPIC, json.dumps(event(9)).encode())
    wait_until(lambda: collector.store.count() == 1, 15, "the valid check-in after the poison")
    wait_until(lambda: collector.store.count("rejected") == len(poison), 15, "every poison dead-lettered")
    assert not collector.fatal.is_set()
    reasons = [r["reason"] for r in collector.store.rejects()]
    assert reasons[0] == "payload is not UTF-8" and reasons[1].startswith("payload too large")
    assert "NUL" in reasons[2] and "surrogate" in reasons[3]
    assert "nested" not in reasons[4]  # not a depth problem: the brackets were inside strings


def test_no_receipt_without_a_valid_event_id(collector: Collector, watcher: Watcher) -> None:
    watcher.publish(TOPIC, b'{"seq":3}')  # once answered "rejected" with event_id null: the gateway deleted seq 3
    watcher.publish(TOPIC, json.dumps({**event(4), "event_id": "not-a-uuid"}).encode())
    bad_but_named = {**event(5), "method": "teleport"}
    watcher.publish(TOPIC, json.dumps(bad_but_named).encode())
    good = event(6)
    watcher.publish(TOPIC, json.dumps(good).encode())
    wait_until(lambda: collector.store.count() == 1 and collector.store.count("rejected") == 3, 15, "all handled")
    got: list[dict[str, object]] = []

    def seen(topic: str, payload: bytes) -> bool:
        if topic == RECEIPTS:
            got.append(json.loads(payload))
        return any(r["event_id"] == good["event_id"] for r in got)

    watcher.wait_for(seen, 10, "the stored one's receipt")
    got += receipts(watcher)  # receipts go out in the batch's order; anything else would be here by now
    named = {str(r["event_id"]): r["status"] for r in got}
    assert named == {good["event_id"]: "stored", bad_but_named["event_id"]: "rejected"}
    for r in got:
        uuid.UUID(str(r["event_id"]))
    dead = {r["event_id"] for r in collector.store.rejects()}
    assert bad_but_named["event_id"] in dead  # the rejected receipt names a dead-lettered row
