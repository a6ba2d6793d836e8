"""Bad input at the gateway's edges: garbage on the serial line, broken video, empty frames — a clear error,
nothing crashes, the rest keeps working."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import numpy as np

from edge.camera.capture import CaptureWorker
from edge.camera.memory import ArraySource
from edge.camera.opencv_source import OpenCvSource
from edge.config.model import CameraConfig
from edge.recognition.core import CoreSettings, RecognitionCore
from edge.recognition.decision import DecisionRule
from edge.recognition.encode_pool import InlineEncoder
from edge.recognition.gallery import Gallery
from firmware_bridge.rdm6300 import encode_frame
from firmware_bridge.serial_reader import CardRead, SerialCardReader
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import wait_until


def test_reader_thread_survives_a_storm_of_random_bytes() -> None:
    rng = random.Random(7)
    got: list[CardRead] = []
    done = threading.Event()

    def on_card(read: CardRead) -> None:
        got.append(read)
        if read.card_uid == "0F00A1B2C3":
            done.set()

    with Rdm6300Simulator() as sim:
        reader = SerialCardReader("r1", sim.url, on_card=on_card, repeat_suppress_s=0)
        reader.start()
        try:
            wait_until(lambda: reader.connections == 1 and sim.client_connected.is_set(), 10, "reader open")
            for _ in range(200):  # 200 bursts of noise, partial frames and stray STX/ETX bytes
                noise = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 64)))
                sim.send_raw(noise + encode_frame("1A2B3C4D5E")[: rng.randrange(0, 14)])
            sim.send_raw(b"\x03" * 5 + encode_frame("0F00A1B2C3"))  # then a clean frame
            assert done.wait(10), "the reader still decodes after the noise"
            assert reader.state == "connected" and reader._thread.is_alive()
            stats = reader.decoder.stats
            assert stats.bad_checksum + stats.malformed > 0
        finally:
            reader.stop()


def test_video_file_that_is_not_a_video_is_a_clear_camera_error(tmp_path: Path) -> None:
    bad = tmp_path / "cam.mp4"
    bad.write_bytes(os.urandom(4096))  # no container OpenCV can open: as good as an unsupported codec
    cap = CaptureWorker(OpenCvSource(CameraConfig(id="c", source=str(bad))), reopen_min_s=0.05)
    cap.start()
    try:
        wait_until(lambda: cap.last_error is not None, 10, "error reported")
    finally:
        cap.stop()
    assert "cam.mp4" in (cap.last_error or "") and cap.state in ("error", "stopped")


def test_core_copes_with_empty_and_odd_frames() -> None:
    core = RecognitionCore(Gallery(), DecisionRule(), InlineEncoder(), CoreSettings())
    for i, frame in enumerate(
        [
            np.zeros((360, 640, 3), np.uint8),  # black
            np.zeros((1, 1, 3), np.uint8),  # a camera returning a degenerate frame
            np.full((360, 640, 3), 255, np.uint8),
        ]
    ):
        assert core.process(i, frame) == []
    assert core.finish() == [] and core.stats.frames == 3


def test_face_thread_reports_frames_it_cannot_use_and_carries_on(tmp_path: Path) -> None:
    from edge.gateway.face_worker import FaceWorker
    from edge.gateway.policy import GateInfo

    frames = [np.zeros((0, 0, 3), np.uint8), np.zeros((360, 640, 3), np.uint8)]  # empty, then a good one
    capture = CaptureWorker(ArraySource(frames, "cam-empty"))
    encoder = InlineEncoder()
    worker = FaceWorker(
        GateInfo("g", "in", "face"),
        capture,
        RecognitionCore(Gallery(), DecisionRule(), encoder, CoreSettings()),
        encoder,
        submit=lambda _: None,
    )
    capture.start()
    worker.start()
    try:
        wait_until(worker.finished.is_set, 10, "worker reached the end")
    finally:
        capture.stop()
        worker.stop()
    assert worker.frames_seen == 2
    assert worker.last_error is not None and "recognition failed" in worker.last_error
