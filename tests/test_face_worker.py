"""The per-camera face thread: behind a live camera it drops frames (counted) and still decides; a dead encoder
is reported, not fatal."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from edge.camera.capture import CaptureWorker
from edge.camera.memory import ArraySource
from edge.gateway.face_worker import FaceWorker
from edge.gateway.policy import GateInfo, Observation
from edge.recognition.core import CoreSettings, RecognitionCore
from edge.recognition.decision import DecisionRule
from edge.recognition.encode_pool import EncoderDied, InlineEncoder, ProcessEncoder
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder
from edge.recognition.gallery import Gallery
from tests.helpers import FACES, face_frame, wait_until

GATE = GateInfo("main-in", "in", "face")
RULE = DecisionRule.for_model("sface")


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Gallery:
    tmp = tmp_path_factory.mktemp("fw")
    (tmp / "photos" / "obama").mkdir(parents=True)
    shutil.copy(FACES / "obama_1.jpg", tmp / "photos" / "obama" / "1.jpg")
    return enroll(tmp / "g.npz", photos_from_folder(tmp / "photos"), EnrolSettings(jitters=1), key=bytes(32)).gallery


def test_live_camera_faster_than_recognition_drops_frames_and_still_decides(gallery: Gallery) -> None:
    frame = face_frame(FACES / "obama_2.jpg")
    src = ArraySource([frame] * 300, "cam-1", is_live=True, interval_s=0.01)  # a 100 fps camera, 3 s
    capture = CaptureWorker(src, queue_size=2)
    got: list[Observation] = []
    encoder = InlineEncoder()  # encodes in the face thread: the slowest possible consumer
    worker = FaceWorker(
        GATE, capture, RecognitionCore(gallery, RULE, encoder, CoreSettings()), encoder, submit=got.append
    )
    capture.start()
    worker.start()
    try:
        wait_until(lambda: capture.state == "ended", 30, "camera read to its end")
        wait_until(worker.finished.is_set, 30, "worker saw the end")
    finally:
        capture.stop()
        worker.stop()
    assert capture.captured == 300 and capture.dropped > 0
    assert worker.frames_seen + capture.dropped == 300, "every frame is either processed or counted as dropped"
    assert capture.frames.qsize() == 0
    assert [o.person_id for o in got] == ["obama"] and got[0].encodings is not None


def test_dead_encoder_process_is_reported_and_the_thread_survives(gallery: Gallery, tmp_path: Path) -> None:
    encoder = ProcessEncoder(workers=1)
    frame = face_frame(FACES / "obama_2.jpg")
    try:
        os.kill(encoder.pids[0], signal.SIGKILL)
        core = RecognitionCore(gallery, RULE, encoder, CoreSettings())
        with pytest.raises(EncoderDied, match="all encoder processes died"):
            for i in range(10):
                core.process(i, frame)
                core.drain(wait=0.5)
        src = ArraySource([frame] * 5, "cam-2")
        capture = CaptureWorker(src)
        worker = FaceWorker(GATE, capture, core, encoder, submit=lambda _: None)
        capture.start()
        worker.start()
        wait_until(lambda: worker.last_error is not None, 10, "error reported")
        assert "EncoderDied" in (worker.last_error or "") and worker.state in ("error", "ended")
        capture.stop()
        worker.stop()
    finally:
        encoder.close()
