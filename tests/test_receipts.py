"""End-to-end acknowledgement: an event leaves the gateway's outbox only on the collector's receipt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.forwarder import OutboxForwarder
from edge.gateway.service import Gateway
from edge.outbox import Outbox
from edge.transport.memory import MemoryTransport
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.gateway_support import gateway_cfg
from tests.helpers import Watcher, start_collector, wait_until

RECEIPTS = "edge/v1/s/g/receipt"


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    ob = Outbox(tmp_path / "gw.sqlite")
    for _ in range(3):
        ob.append(lambda seq: ("edge/v1/s/g/checkin", f"id-{seq}", json.dumps({"seq": seq, "event_id": f"id-{seq}"})))
    yield ob
    ob.close()


def receipt(seq: int, event_id: str, status: str = "stored") -> bytes:
    return json.dumps({"seq": seq, "event_id": event_id, "status": status}).encode()


def test_puback_alone_keeps_the_event_and_the_receipt_removes_it(outbox: Outbox) -> None:
    t = MemoryTransport()
    fw = OutboxForwarder(outbox, t, receipt_topic=RECEIPTS, receipt_timeout_s=60)
    fw.start()
    t.start()
    try:
        assert t.subscriptions == [RECEIPTS]
        wait_until(lambda: fw.stats.acked == 3, 5, "three PUBACKs")
        assert outbox.depth() == 3 and fw.awaiting_receipt == 3
        t.deliver(RECEIPTS, receipt(2, "id-2"))
        t.deliver(RECEIPTS, receipt(3, "id-999"))  # not the event this seq holds: ignored
        t.deliver(RECEIPTS, b"{not json")  # malformed: ignored
        t.deliver(RECEIPTS, receipt(1, "id-1", "rejected"))  # dead-lettered at the collector: stop sending it
        wait_until(lambda: outbox.depth() == 1, 5, "two receipts applied")
        assert [r.seq for r in outbox.pending()] == [3]
        assert fw.stats.confirmed == 2 and fw.stats.rejected_by_collector == 1
        assert "collector rejected seq 1" in (fw.stats.last_error or "")
    finally:
        fw.stop()


def test_missing_receipt_resends_the_same_event(outbox: Outbox) -> None:
    t = MemoryTransport()
    fw = OutboxForwarder(outbox, t, receipt_topic=RECEIPTS, receipt_timeout_s=0.3, max_inflight=2)

    def resent_seq_1() -> list[bytes]:
        # The counter moves before the re-send is published: wait for the publish itself.
        return [s.payload for s in list(t.sent)[2:] if json.loads(s.payload)["seq"] == 1]

    fw.start()
    t.start()
    try:
        wait_until(lambda: bool(resent_seq_1()), 5, "seq 1 re-sent after the timeout")
        assert fw.stats.resent_no_receipt >= 2
        first = [json.loads(s.payload)["seq"] for s in t.sent[:2]]
        assert first == [1, 2], "the window counts events awaiting a receipt: seq 3 waits"
        assert resent_seq_1()[0] == t.sent[0].payload, "same event, same event_id"
        for seq in (1, 2, 3):
            t.deliver(RECEIPTS, receipt(seq, f"id-{seq}"))
        wait_until(lambda: outbox.depth() == 0 or fw.awaiting_receipt == 0, 5, "receipts")
        for seq in (1, 2, 3):  # seq 3 may have been sent only now
            t.deliver(RECEIPTS, receipt(seq, f"id-{seq}"))
        wait_until(lambda: outbox.depth() == 0, 5, "outbox empty")
    finally:
        fw.stop()


@pytest.mark.slow
def test_a_plain_subscriber_without_collector_loses_nothing(broker: MosquittoBroker, tmp_path: Path) -> None:
    """The hole #2 documented: the broker says 'delivered' to a dashboard while no collector runs."""
    dashboard = Watcher(broker, topic="edge/v1/#", client_id="dashboard")
    sim = Rdm6300Simulator().start()
    cfg = load_config(
        gateway_cfg(
            tmp_path,
            broker,
            sim.url,
            None,
            broker={"host": "127.0.0.1", "port": broker.port, "receipt_timeout_s": 1.0},
        )
    )
    gw = Gateway(cfg)
    collector = None
    try:
        gw.start()
        wait_until(lambda: gw.readers[0][1].connections == 1 and sim.client_connected.is_set(), 10, "reader open")
        for uid in ("62E3086CED", "0F00D4E5F6", "DEADBEEF00"):
            sim.tap(uid, repeats=1)
        dashboard.wait_for(lambda t, p: t.endswith("/checkin") and json.loads(p)["seq"] == 3, 10, "dashboard saw 3")
        wait_until(lambda: gw.forwarder.stats.resent_no_receipt >= 3, 10, "re-sent for want of a receipt")
        assert gw.outbox.depth() == 3, "delivered to a dashboard is not stored: still in the outbox"

        collector = start_collector(tmp_path / "collector.sqlite", broker, "col-late")
        wait_until(lambda: gw.outbox.depth() == 0, 20, "receipts after the collector started")
        rows = list(collector.store.checkins())
        assert sorted(r["seq"] for r in rows) == [1, 2, 3]
        assert collector.stats.stored == 3 and gw.forwarder.stats.confirmed == 3
    finally:
        gw.stop()
        sim.stop()
        dashboard.close()
        if collector is not None:
            collector.stop()
            collector.store.close()
