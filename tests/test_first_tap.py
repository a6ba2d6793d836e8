"""The first tap at a new gate is not lost (#20): "a girl who tapped twice shows 'Chưa đến'" — her first tap came
back "Not authorized" (the broker's ACL had not been regenerated) and her second, 46 s later, fell inside the 60 s
debounce. A real gateway, whose certificate is issued but whose ACL rights are missing, keeps the refused tap in
its outbox (PUBACK 0x87 is retried with backoff); once the broker's ACL is rewritten and reloaded (`edge broker
refresh`, what `edge provision --broker-dir` does), that first tap reaches the collector, with its own time, once.
So the debounce needs no change: the tap it suppresses repeats one that is kept (and a first tap dead-lettered by
a collector that did not know the gateway yet is replayed: tests/test_dead_letters.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

from click.testing import CliRunner

from edge.cli import cli
from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import gateway_config, start_collector, wait_until

ROSTER = "person_id,name,class,card_uid\nlan,Trần Thị Lan,7B,0F00D4E5F6\n"


def test_a_refused_first_tap_arrives_once_the_broker_learns_the_gateway(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    assert broker.pki is not None
    name = f"gw-{uuid.uuid4().hex[:6]}"
    collector = start_collector(tmp_path / "collector.sqlite", broker, f"col-{name}")  # (reloads the broker)
    broker.pki.issue(name, "gateway")  # issued, but the broker's ACL was never regenerated
    sim = Rdm6300Simulator().start()
    gate = {"id": "main-in", "direction": "in", "mode": "card", "readers": [{"id": "reader-1", "port": sim.url}]}
    cfg = load_config(gateway_config(tmp_path, broker, name, gate, ROSTER))
    gw = Gateway(cfg)
    try:
        gw.start()
        wait_until(lambda: gw.readers[0][1].connections == 1 and sim.client_connected.is_set(), 10, "reader open")
        sim.tap("0F00D4E5F6", repeats=1)
        wait_until(lambda: gw.recorder.recorded == 1, 10, "the tap decided")
        wait_until(lambda: gw.forwarder.stats.refused >= 1, 20, "the broker refusing the tap (PUBACK 0x87)")
        assert "Not authorized" in (gw.forwarder.stats.last_error or "")
        assert gw.outbox.depth() == 1, "the refused tap is kept in the outbox, not dropped"
        assert collector.store.count() == 0

        res = CliRunner().invoke(cli, ["broker", "refresh", "--dir", str(broker.broker_dir)])
        assert res.exit_code == 0, res.output
        wait_until(lambda: collector.store.count() == 1, 30, "the first tap stored after the reload")
        wait_until(lambda: gw.outbox.depth() == 0, 20, "its receipt back")
    finally:
        gw.stop()
        sim.stop()
        collector.stop()
    [row] = list(collector.store.checkins())
    assert (row["person_id"], row["gateway_id"], row["seq"]) == ("lan", name, 1)
    assert collector.stats.stored == 1
    collector.store.close()
