"""systemd readiness and watchdog over a NOTIFY_SOCKET the test owns: READY=1 once the gateway is up, WATCHDOG=1
while its loops move, none once the face thread or the outbox forwarder is stuck on a real blocking seam (a
hung encoder process, a database locked by another writer), STOPPING=1 on exit."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.camera.base import Frame
from edge.camera.capture import CaptureWorker
from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.gateway.face_worker import FaceWorker
from edge.gateway.policy import GateInfo, Observation
from edge.gateway.service import Gateway
from edge.ops.heartbeat import Heartbeats
from edge.ops.sdnotify import SdNotifier, watchdog_interval_s
from edge.ops.supervision import Supervision
from edge.ops.watchdog import Watchdog
from edge.recognition.core import CoreSettings, RecognitionCore
from edge.recognition.decision import DecisionRule
from edge.recognition.encode_pool import ProcessEncoder
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder
from edge.recognition.gallery import Gallery
from edge.transport.memory import MemoryTransport
from tests.helpers import FACES, face_frame, gateway_config, wait_until
from tests.sdnotify_support import NotifySocket

# an in-memory transport has no broker TLS: the signed commands of #6 are off for these gateways
UNSIGNED = {"commands": {"require_signature": False}}


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    s = NotifySocket(f"@edge-test-notify-{uuid.uuid4().hex}")  # abstract: no path-length or cleanup worries
    yield s
    s.close()


def test_notifier_is_a_no_op_without_notify_socket_and_reads_the_watchdog_period() -> None:
    assert not SdNotifier.from_env({}).ready("x")
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "nonsense"}) is None
    assert Supervision.heartbeat_max_age_s({"WATCHDOG_USEC": "30000000"}) == 15.0


def test_path_socket_gets_the_datagram(tmp_path: Path) -> None:
    s = NotifySocket(str(tmp_path / "n.sock"))
    try:
        assert SdNotifier(s.address).ready("up")
        msg = s.wait_for("READY", 5)
        assert msg["STATUS"] == "up" and msg["MAINPID"] == str(os.getpid())
    finally:
        s.close()


def card_gate(port: int) -> dict[str, object]:
    # a reader on a port nobody listens on: it keeps reconnecting, the gateway runs on regardless
    return {
        "id": "main-in",
        "direction": "in",
        "mode": "card",
        "readers": [{"id": "r1", "port": f"socket://127.0.0.1:{port}"}],
    }


def test_gateway_process_ready_watchdog_and_stopping(
    broker: MosquittoBroker, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    cfg = gateway_config(
        tmp_path,
        broker,
        "gw-notify",
        card_gate(free_port()),
        "person_id,name,class,card_uid\n",
        metrics={"port": 0},
        clock_check="assume_synced",
    )
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "3000000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "gateway", "run", "-c", str(cfg)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        ready = notify_socket.wait_for("READY", 60)
        assert ready["READY"] == "1" and ready["MAINPID"] == str(proc.pid)
        pings = [notify_socket.wait_for("WATCHDOG", 15) for _ in range(3)]
        assert all(p["WATCHDOG"] == "1" for p in pings)
        assert any("online" in p.get("STATUS", "") for p in pings), pings
        proc.send_signal(signal.SIGHUP)  # systemctl reload
        assert notify_socket.wait_for("RELOADING", 15)["RELOADING"] == "1"
        reloaded = notify_socket.wait_for("READY", 15)
        notify_socket.wait_for("WATCHDOG", 15)  # still supervised after the reload
        proc.send_signal(signal.SIGTERM)
        assert notify_socket.wait_for("STOPPING", 15)["STOPPING"] == "1"
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()
    assert [m for m in notify_socket.messages if "READY" in m] == [ready, reloaded], "READY at start and after reload"


def test_no_watchdog_ping_while_the_forwarder_is_stuck_on_a_locked_database(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    cfg = load_config(
        gateway_config(
            tmp_path,
            1,
            "gw-stuck",
            card_gate(free_port()),
            "person_id,name,class,card_uid\n",
            broker={"receipts": False},
            clock_check="assume_synced",
            **UNSIGNED,
        )
    )
    transport = MemoryTransport()
    heartbeats = Heartbeats(max_age_s=1.0)
    gw = Gateway(cfg, transport=transport, heartbeats=heartbeats, drain_timeout_s=0.5)
    sup = Supervision(SdNotifier(notify_socket.address), heartbeats, watchdog_s=1.5)
    gw.start()
    locker = sqlite3.connect(cfg.storage.database, timeout=1, isolation_level=None)
    try:
        sup.ready("up")
        notify_socket.wait_for("READY", 5)
        for _ in range(3):
            notify_socket.wait_for("WATCHDOG", 10)

        # a check-in waits in the outbox while the broker is away; another writer then holds the database
        transport.set_connected(False)
        gate = GateInfo("main-in", "in", "card")
        assert gw.recorder.submit(Observation(gate, "r1", "card", time.monotonic(), card_uid="0F00A1B2C3"))
        locker.execute("BEGIN IMMEDIATE")
        transport.set_connected(True)  # the forwarder publishes, then blocks marking the attempt
        stuck = notify_socket.wait_for("STATUS", 20, value="stuck")
        assert "outbox-forwarder" in stuck["STATUS"]
        notify_socket.quiet_for("WATCHDOG", 2.5)  # five ping intervals without a ping
        assert any(a.startswith("loop_stuck: outbox-forwarder") for a in gw.alarms()), "in health and metrics too"

        locker.execute("ROLLBACK")  # the database is free again: the forwarder moves, the pings resume
        notify_socket.wait_for("WATCHDOG", 20)
        wait_until(lambda: gw.outbox.depth() == 0, 20, "the check-in leaves the outbox")
    finally:
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
        sup.stopping()
        gw.stop()


class SwitchSource:
    """A file-like (not live) camera: an empty scene until `show_face` is set, then a face."""

    name = "cam-stuck"
    is_live = False

    def __init__(self, face: np.ndarray) -> None:
        self.face = face
        self.empty = np.full_like(face, 40)
        self.show_face = threading.Event()
        self.i = 0

    def open(self) -> None:
        pass

    def read(self) -> Frame | None:
        self.i += 1
        return Frame(self.i, self.face if self.show_face.is_set() else self.empty, time.monotonic())

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Gallery:
    tmp = tmp_path_factory.mktemp("sdn")
    (tmp / "photos" / "obama").mkdir(parents=True)
    shutil.copy(FACES / "obama_1.jpg", tmp / "photos" / "obama" / "1.jpg")
    return enroll(tmp / "g.npz", photos_from_folder(tmp / "photos"), EnrolSettings(jitters=1), key=bytes(32)).gallery


def test_no_watchdog_ping_while_the_face_thread_waits_on_a_hung_encoder_process(
    gallery: Gallery, notify_socket: NotifySocket
) -> None:
    heartbeats = Heartbeats(max_age_s=1.0)
    encoder = ProcessEncoder(workers=1)
    assert encoder.wait_ready(60)
    source = SwitchSource(face_frame(FACES / "obama_2.jpg"))
    capture = CaptureWorker(source)
    core = RecognitionCore(gallery, DecisionRule.for_model("sface"), encoder, CoreSettings())
    worker = FaceWorker(
        GateInfo("main-in", "in", "face"),
        capture,
        core,
        encoder,
        submit=lambda _: None,
        heartbeat=heartbeats.register("faces-cam-stuck"),
    )
    watchdog = Watchdog(SdNotifier(notify_socket.address), heartbeats, interval_s=0.5)
    capture.start()
    worker.start()
    watchdog.start()
    stopped = False
    try:
        for _ in range(3):
            notify_socket.wait_for("WATCHDOG", 10)  # empty frames: the thread loops and beats
        os.kill(encoder.pids[0], signal.SIGSTOP)  # the encoder hangs (a real process, frozen)
        stopped = True
        source.show_face.set()  # a face arrives: lock step waits for its encoding forever
        stuck = notify_socket.wait_for("STATUS", 30, value="stuck")
        assert "faces-cam-stuck" in stuck["STATUS"]
        notify_socket.quiet_for("WATCHDOG", 2.5)
        assert encoder.pending > 0
        os.kill(encoder.pids[0], signal.SIGCONT)  # it thaws: encodings arrive, the pings resume
        stopped = False
        notify_socket.wait_for("WATCHDOG", 30)
    finally:
        if stopped:
            os.kill(encoder.pids[0], signal.SIGCONT)
        watchdog.stop()
        capture.stop()
        worker.stop()
