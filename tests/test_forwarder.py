"""The outbox forwarder against the in-memory transport: order, window, retries, disconnects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.gateway.forwarder import OutboxForwarder
from edge.outbox import Outbox
from edge.transport.base import AckStatus
from edge.transport.memory import MemoryTransport
from tests.helpers import wait_until


def add(outbox: Outbox, n: int) -> None:
    for _ in range(n):
        outbox.append(lambda seq: ("edge/v1/s/g/checkin", f"id-{seq}", json.dumps({"seq": seq})))


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    ob = Outbox(tmp_path / "gw.sqlite")
    yield ob
    ob.close()


def seqs(t: MemoryTransport) -> list[int]:
    return [json.loads(s.payload)["seq"] for s in t.sent]


def run(fw: OutboxForwarder) -> OutboxForwarder:
    fw.start()
    return fw


def test_publishes_in_order_and_empties_outbox(outbox: Outbox) -> None:
    add(outbox, 30)
    t = MemoryTransport()
    fw = run(OutboxForwarder(outbox, t, max_inflight=5))
    t.start()
    try:
        wait_until(lambda: outbox.depth() == 0, 10, "outbox drained")
        assert seqs(t) == list(range(1, 31))
        assert all(s.qos == 1 and not s.retain for s in t.sent)
    finally:
        fw.stop()


def test_nothing_published_while_disconnected(outbox: Outbox) -> None:
    t = MemoryTransport()
    fw = run(OutboxForwarder(outbox, t))
    try:
        add(outbox, 3)
        fw.notify()
        fw.drain(0.3)
        assert t.sent == [] and outbox.depth() == 3
        t.set_connected(True)
        wait_until(lambda: outbox.depth() == 0, 10, "outbox drained after connect")
        assert seqs(t) == [1, 2, 3]
    finally:
        fw.stop()


def test_window_bounds_unacknowledged(outbox: Outbox) -> None:
    add(outbox, 10)
    t = MemoryTransport(auto_ack=None)
    fw = run(OutboxForwarder(outbox, t, max_inflight=4))
    t.start()
    try:
        wait_until(lambda: len(t.sent) == 1, 5, "slow start publishes one")
        t.ack(t.sent[0].token)
        wait_until(lambda: len(t.sent) == 5, 5, "window opens to 4 after the first ack")
        fw.drain(0.3)
        assert len(t.sent) == 5 and fw.inflight == 4
        for s in list(t.sent[1:]):
            t.ack(s.token)
        wait_until(lambda: len(t.sent) == 9, 5, "next window")
        assert outbox.depth() == 5
    finally:
        fw.stop()


def test_no_subscribers_keeps_event_and_retries(outbox: Outbox) -> None:
    add(outbox, 2)
    t = MemoryTransport(auto_ack=AckStatus.NO_SUBSCRIBERS)
    fw = run(OutboxForwarder(outbox, t, retry_min_s=0.05))
    t.start()
    try:
        wait_until(lambda: fw.stats.no_subscribers >= 2, 5, "two refusals")
        assert outbox.depth() == 2
        assert "no subscriber" in (fw.stats.last_error or "")
        t.auto_ack = AckStatus.DELIVERED
        wait_until(lambda: outbox.depth() == 0, 5, "delivered once a subscriber exists")
        delivered = seqs(t)
        assert delivered[-2:] == [1, 2] and set(delivered) == {1, 2}
    finally:
        fw.stop()


def test_no_subscribers_accepted_when_not_required(outbox: Outbox) -> None:
    add(outbox, 2)
    t = MemoryTransport(auto_ack=AckStatus.NO_SUBSCRIBERS)
    fw = run(OutboxForwarder(outbox, t, require_subscriber=False))
    t.start()
    try:
        wait_until(lambda: outbox.depth() == 0, 5, "drained")
    finally:
        fw.stop()


def test_acks_after_reconnect_still_match(outbox: Outbox) -> None:
    """paho re-sends its in-flight messages after a reconnect; their acks must still clear the outbox."""
    add(outbox, 3)
    t = MemoryTransport(auto_ack=None)
    fw = run(OutboxForwarder(outbox, t, max_inflight=3))
    t.start()
    try:
        wait_until(lambda: len(t.sent) == 1, 5, "first publish")
        t.set_connected(False)
        t.set_connected(True)
        t.ack(t.sent[0].token)
        wait_until(lambda: outbox.depth() == 2, 5, "acked after reconnect")
        wait_until(lambda: len(t.sent) == 3, 5, "rest published")
        assert seqs(t) == [1, 2, 3]
    finally:
        fw.stop()
