"""The gateway as a real process: refuses an invalid config, keeps the old one on an invalid reload (SIGHUP),
applies a roster change, and after kill -9 the broker announces it offline and the restart continues the seq."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.devtools.mosquitto import MosquittoBroker
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.gateway_support import gateway_cfg
from tests.helpers import Watcher, start_collector, wait_until

STATUS = "edge/v1/test-school/gw-e2e/status"


def spawn(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen([sys.executable, "-m", "edge", "gateway", "run", "-c", str(cfg)], stdout=fh, stderr=fh)


@pytest.fixture
def sim() -> Iterator[Rdm6300Simulator]:
    with Rdm6300Simulator() as s:
        yield s


def test_invalid_config_refuses_to_start(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("site_id: s\ngateway_id: g\ngates: []\nbrokr: {}\n")
    res = subprocess.run(
        [sys.executable, "-m", "edge", "gateway", "run", "-c", str(cfg)], check=False, capture_output=True, text=True
    )
    assert res.returncode == 2
    assert "bad.yaml:4: brokr" in res.stderr, res.stderr
    assert "refusing to start on an invalid config" in res.stderr


@pytest.mark.slow
def test_reload_and_kill_9(broker: MosquittoBroker, watcher: Watcher, sim: Rdm6300Simulator, tmp_path: Path) -> None:
    cfg = gateway_cfg(tmp_path, broker, sim.url, None)
    collector = start_collector(tmp_path / "collector.sqlite", broker, "col-proc")
    log = tmp_path / "gateway.log"
    gw = spawn(cfg, log)
    try:
        watcher.wait_for(lambda t, p: t == STATUS and p == b"online", 20, "online")
        wait_until(sim.client_connected.is_set, 10, "reader connected")
        # rose, in the roster; tapped until read (the reader's open() may discard a first frame), debounced to one
        wait_until(lambda: sim.tap("62E3086CED", repeats=1) and collector.store.count() == 1, 15, "first check-in")

        # an invalid reload is refused, the gateway keeps running the old config
        good = cfg.read_text()
        cfg.write_text(good + "\nbogus_key: 1\n")
        gw.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload refused, still running the previous config" in log.read_text(), 10, "refused")
        # a valid reload with a new roster line is applied
        cfg.write_text(good)
        roster = tmp_path / "roster.csv"
        roster.write_text(roster.read_text() + "newbie,New Pupil,9A,ABCDEF0123\n")
        gw.send_signal(signal.SIGHUP)
        wait_until(lambda: "roster reloaded: 5 people" in log.read_text(), 10, "roster reloaded")
        assert gw.poll() is None
        sim.tap("ABCDEF0123")
        wait_until(lambda: collector.store.count() == 2, 15, "the new pupil's check-in")
        assert [c["person_id"] for c in collector.store.checkins() if c["card_uid"] == "ABCDEF0123"] == ["newbie"]

        os.kill(gw.pid, signal.SIGKILL)
        gw.wait(10)
        watcher.wait_for(lambda t, p: t == STATUS and p == b"offline", 20, "LWT offline after kill -9")
        sim.disconnect_clients()
        gw = spawn(cfg, log)
        watcher.wait_for(lambda t, p: t == STATUS and p == b"online", 20, "online again")
        wait_until(sim.client_connected.is_set, 10, "reader reconnected")
        # tap until read: the new process's pyserial open() may discard the first frame; debounce keeps one
        wait_until(lambda: sim.tap("0F00D4E5F6", repeats=1) and collector.store.count() == 3, 15, "after restart")
        seqs = sorted(r["seq"] for r in collector.store.checkins())
        assert seqs == [1, 2, 3], "seq continued after kill -9"
    finally:
        gw.send_signal(signal.SIGTERM)
        gw.wait(15)
        collector.stop()
        collector.store.close()
