"""Prometheus metrics scraped over HTTP after real traffic: card taps from a simulated RDM6300, a face from a
camera, check-ins through a real Mosquitto to a real collector and its receipts back."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.camera.memory import ArraySource
from edge.config import load_config
from edge.config.model import CameraConfig
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.gateway.service import Gateway
from edge.ops.metrics import MetricsServer
from edge.ops.server_metrics import parse_listen, serve_collector_metrics
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import FACES, face_frame, gallery_key, gateway_config, start_collector, wait_until
from tests.metrics_support import Samples, scrape, value

ROSTER = """person_id,name,class,card_uid
obama,Barack Obama,12A,
rose,Rose Leslie,11C,62E3086CED
"""


@pytest.fixture
def reader() -> Iterator[Rdm6300Simulator]:
    sim = Rdm6300Simulator().start()
    yield sim
    sim.stop()


def test_gateway_metrics_after_real_traffic(broker: MosquittoBroker, reader: Rdm6300Simulator, tmp_path: Path) -> None:
    began = time.monotonic()
    (tmp_path / "photos" / "obama").mkdir(parents=True)
    shutil.copy(FACES / "obama_1.jpg", tmp_path / "photos" / "obama" / "1.jpg")
    enroll(
        tmp_path / "gallery.npz",
        photos_from_folder(tmp_path / "photos"),
        EnrolSettings(jitters=1),
        key=gallery_key(tmp_path),
    )
    gate = {
        "id": "main-in",
        "direction": "in",
        "mode": "card_or_face",
        "readers": [{"id": "reader-1", "port": f"socket://127.0.0.1:{reader.port}"}],
        "cameras": [{"id": "cam-1", "source": "memory", "realtime": False}],
    }
    cfg = load_config(gateway_config(tmp_path, broker, "gw-metrics", gate, ROSTER, clock_check="assume_synced"))
    empty = np.full((360, 640, 3), 40, np.uint8)
    frames = [empty] * 3 + [face_frame(FACES / "obama_2.jpg")] * 12 + [empty] * 10

    def source(cam: CameraConfig, _stop: threading.Event) -> ArraySource:
        return ArraySource(frames, cam.id)  # a file-like camera (lock step): every frame is processed

    collector = start_collector(tmp_path / "central.sqlite", broker, "metrics-collectors")
    gw = Gateway(cfg, source_factory=source)
    gw.start()
    server = MetricsServer(gw.metrics.registry, "127.0.0.1", 0)
    server.start()
    central = serve_collector_metrics(collector, "127.0.0.1:0")
    assert central is not None
    try:
        wait_until(reader.client_connected.is_set, 20, "the gateway's reader connects")
        reader.tap("62E3086CED")  # rose: granted
        reader.tap("DEADBEEF00")  # unknown card: denied
        wait_until(gw.cameras_finished, 60, "the camera read to its end")
        wait_until(lambda: gw.recorder.recorded == 3 and gw.outbox.depth() == 0, 60, "3 check-ins confirmed")
        samples, types = scrape(server.url)
        wait_until(lambda: collector.stats.receipts >= 3, 10, "the collector's receipts counted")
        central_samples, central_types = scrape(central.url)
    finally:
        server.stop()
        central.stop()
        gw.stop()
        collector.stop()

    assert value(samples, "edge_gateway_checkins_total", decision="granted", method="card", gate="main-in") == 1
    assert value(samples, "edge_gateway_checkins_total", decision="denied", method="card", gate="main-in") == 1
    assert value(samples, "edge_gateway_checkins_total", decision="granted", method="face", gate="main-in") == 1
    assert value(samples, "edge_gateway_publish_latency_seconds_count") >= 3
    receipts = value(samples, "edge_gateway_receipt_latency_seconds_count")
    assert receipts >= 3
    # in seconds: each receipt came back during this test (a unit check, not a bound on how fast)
    assert 0 < value(samples, "edge_gateway_receipt_latency_seconds_sum") <= receipts * (time.monotonic() - began)
    assert value(samples, "edge_gateway_decision_latency_seconds_count", camera="cam-1") == 1
    assert value(samples, "edge_gateway_outbox_depth") == 0
    assert value(samples, "edge_gateway_outbox_oldest_age_seconds") == 0
    assert value(samples, "edge_gateway_confirmed_total") == 3
    assert value(samples, "edge_gateway_reader_state", reader="reader-1", state="connected") == 1
    assert value(samples, "edge_gateway_reader_state", reader="reader-1", state="disconnected") == 0
    assert value(samples, "edge_gateway_reader_cards_total", reader="reader-1") >= 2
    assert value(samples, "edge_gateway_camera_frames_captured_total", camera="cam-1") == len(frames)
    assert value(samples, "edge_gateway_camera_frames_dropped_total", camera="cam-1") == 0
    assert value(samples, "edge_gateway_camera_state", camera="cam-1", state="ended") == 1
    assert value(samples, "edge_gateway_alarm", alarm="outbox_over_cap") == 0
    assert value(samples, "edge_gateway_clock_synced") == 1
    assert (
        value(
            samples,
            "edge_gateway_build_info",
            version=__import__("edge").__version__,
            site="test-school",
            gateway="gw-metrics",
        )
        == 1
    )

    assert value(central_samples, "edge_collector_checkins_stored_total") == 3
    assert value(central_samples, "edge_collector_checkins_duplicates_total") == 0
    assert value(central_samples, "edge_collector_checkins_rejected_total", reason="none") == 0
    assert value(central_samples, "edge_collector_store_failed") == 0
    assert all(re.fullmatch(r"edge_collector_[a-z0-9_]+", n) for n in central_types)

    # the sample Grafana dashboard only asks for series that exist
    dashboard = (Path(__file__).parent.parent / "edge/ops/grafana/edge-gateways.json").read_text()
    used = set(re.findall(r"edge_(?:gateway|collector)_[a-z0-9_]+", dashboard))
    exposed = {name for name, _ in samples} | {name for name, _ in central_samples} | set(types) | set(central_types)
    assert used and used <= exposed, used - exposed  # (a family without samples, no controller here, still counts)

    # Prometheus conventions: one prefix, snake case, counters end in _total, durations in seconds
    for name, kind in types.items():
        assert re.fullmatch(r"edge_gateway_[a-z0-9_]+", name), name
        if kind == "histogram":
            assert name.endswith("_seconds"), name
    counters = {n for n, k in types.items() if k == "counter"}
    assert {s for s, _ in samples if any(s.startswith(c) for c in counters)} <= {
        f"{c}{suffix}" for c in counters for suffix in ("_total", "_created")
    }


def test_gateway_process_serves_metrics_on_the_configured_port(broker: MosquittoBroker, tmp_path: Path) -> None:
    port = free_port()
    gate = {
        "id": "main-in",
        "direction": "in",
        "mode": "card",
        "readers": [{"id": "r1", "port": f"socket://127.0.0.1:{free_port()}"}],
    }
    cfg = gateway_config(tmp_path, broker, "gw-metrics-proc", gate, ROSTER, metrics={"port": port})
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "gateway", "run", "-c", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def scraped() -> Samples | None:
            try:
                got = scrape(f"http://127.0.0.1:{port}/metrics")[0]
            except OSError:
                return None
            # the endpoint opens before the gateway starts; its levels appear once it has
            return got if ("edge_gateway_outbox_depth", frozenset()) in got else None

        samples = wait_until(scraped, 60, "the metrics endpoint answers with the gateway's levels")
        assert value(samples, "edge_gateway_reader_state", reader="r1", state="connected") == 0
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_listen_addresses() -> None:
    assert parse_listen("off") is None
    assert parse_listen("127.0.0.1:9109") == ("127.0.0.1", 9109)
    assert parse_listen(":9109") == ("127.0.0.1", 9109)
    assert parse_listen("[::1]:9109") == ("::1", 9109)
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen("9109x")


def test_a_taken_metrics_port_is_logged_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import socket

    from edge.gateway.ops import GatewayOps
    from edge.transport.memory import MemoryTransport

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    gate = {"id": "main-in", "direction": "in", "mode": "card", "readers": [{"id": "r1", "port": "loop://"}]}
    unsigned = {"commands": {"require_signature": False}}
    cfg = load_config(gateway_config(tmp_path, 1, "gw-port", gate, ROSTER, metrics={"port": port}, **unsigned))
    ops = GatewayOps(cfg, env={})
    gw = Gateway(cfg, transport=MemoryTransport(), heartbeats=ops.heartbeats, drain_timeout_s=0.5)
    try:
        ops.attach(gw)
        gw.start()
        ops.ready()  # no NOTIFY_SOCKET: nothing sent, nothing raised
        assert ops.metrics_server is None
        assert any(f"metrics endpoint 127.0.0.1:{port} not available" in r.message for r in caplog.records)
        assert gw.outbox.depth() == 0 and gw.transport is not None and gw.transport.connected
    finally:
        ops.stopping()
        gw.stop()
        ops.close()
        taken.close()
