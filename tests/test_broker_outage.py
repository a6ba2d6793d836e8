"""Outbox first, publish second: events produced while the broker is down all arrive, in seq order, once."""

from __future__ import annotations

import json
from pathlib import Path

from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.gateway_support import gateway_cfg
from tests.helpers import Watcher, start_collector, wait_until

CARDS = [f"{i:010X}" for i in range(0xA000000001, 0xA000000001 + 12)]


def test_broker_stopped_and_restarted(broker: MosquittoBroker, tmp_path: Path) -> None:
    collector = start_collector(tmp_path / "collector.sqlite", broker, "col-outage")
    sim = Rdm6300Simulator().start()
    cfg = load_config(gateway_cfg(tmp_path, broker, sim.url, None, policy={"unknown_debounce_s": 0}))
    gw = Gateway(cfg)
    try:
        gw.start()
        wait_until(lambda: gw.readers[0][1].connections == 1 and sim.client_connected.is_set(), 10, "reader open")
        for uid in CARDS[:4]:  # while the broker is up
            sim.tap(uid, repeats=1)
        wait_until(lambda: collector.store.count() == 4, 15, "first four stored")
        wait_until(lambda: gw.outbox.depth() == 0, 10, "their receipts back")

        broker.stop()
        wait_until(lambda: not gw.transport.connected, 10, "gateway sees the broker gone")  # type: ignore[union-attr]
        for uid in CARDS[4:]:  # decided locally, kept in the outbox
            sim.tap(uid, repeats=1)
        wait_until(lambda: gw.recorder.recorded == len(CARDS), 10, "all taps decided")
        assert gw.outbox.depth() == len(CARDS) - 4

        broker.start()  # same port
        # Only the health topic: a plain subscriber to check-ins would make the broker answer "delivered" while
        # the collector is still reconnecting, and that event would bypass the collector (see README, Delivery).
        watcher = Watcher(broker, topic="edge/v1/+/+/health", client_id="outage-watcher")
        wait_until(lambda: collector.store.count() == len(CARDS), 40, "backlog delivered")
        wait_until(lambda: gw.outbox.depth() == 0, 10, "outbox empty")
        health = json.loads(
            watcher.wait_for(
                lambda t, p: t.endswith("/health") and json.loads(p)["outbox_depth"] == 0, 20, "health: drained"
            )[1]
        )
        assert health["last_seq"] == len(CARDS) and health["confirmed"] == len(CARDS)
        watcher.close()
    finally:
        gw.stop()
        sim.stop()
        collector.stop()
    rows = sorted(collector.store.checkins(), key=lambda r: (r["received_at"], r["seq"]))
    assert [r["seq"] for r in rows] == list(range(1, len(CARDS) + 1)), "arrival order is seq order"
    assert [r["card_uid"] for r in rows] == CARDS
    assert collector.stats.stored == len(CARDS)
    collector.store.close()
