"""Camera sources and the capture thread: files read fully, live sources bounded, failures retried."""

from __future__ import annotations

import queue
import tracemalloc
from pathlib import Path

import numpy as np

from edge.camera.base import Frame
from edge.camera.capture import END, CaptureWorker
from edge.camera.memory import ArraySource
from edge.camera.opencv_source import OpenCvSource, source_kind
from edge.config.model import CameraConfig
from tests.helpers import wait_until


def drain(q: queue.Queue[Frame | None], timeout: float = 5.0) -> list[Frame]:
    frames: list[Frame] = []
    while True:
        item = q.get(timeout=timeout)
        if item is END:
            return frames
        assert item is not None
        frames.append(item)


def test_source_kinds() -> None:
    assert source_kind("0") == "device"
    assert source_kind("rtsp://cam/stream") == "stream"
    assert source_kind("/videos/a.mp4") == "file"


def test_file_source_is_read_without_loss(demo_data: Path) -> None:
    cfg = CameraConfig(id="c", source=str(demo_data / "gate_camera.mp4"), realtime=False)
    cap = CaptureWorker(OpenCvSource(cfg))
    cap.start()
    frames = drain(cap.frames)
    cap.stop()
    assert len(frames) == 275 and cap.dropped == 0
    assert [f.index for f in frames] == list(range(275))
    assert frames[0].image.shape == (360, 640, 3)
    assert cap.state == "ended"


def test_live_source_drops_oldest_and_stays_bounded() -> None:
    images = [np.full((360, 640, 3), i % 255, np.uint8) for i in range(300)]
    src = ArraySource(images, is_live=True)
    tracemalloc.start()
    cap = CaptureWorker(src, queue_size=2)
    cap.start()
    wait_until(lambda: cap.state == "ended" or cap.captured == 300, 10, "all frames captured")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    left = drain(cap.frames)
    cap.stop()
    assert cap.captured == 300
    assert len(left) <= 2 and cap.dropped >= 297
    assert left[-1].index == 299, "the newest frame survives"
    assert peak < 20 * images[0].nbytes, "memory did not grow with the frames captured"


def test_missing_file_is_retried_with_a_clear_error(tmp_path: Path) -> None:
    cap = CaptureWorker(OpenCvSource(CameraConfig(id="c", source=str(tmp_path / "nope.mp4"))), reopen_min_s=0.05)
    cap.start()
    wait_until(lambda: cap.last_error is not None, 5, "error reported")
    cap.stop()
    assert "video file not found" in (cap.last_error or "")


def test_failing_camera_is_reopened() -> None:
    src = ArraySource([np.zeros((10, 10, 3), np.uint8)] * 3, is_live=True, fail_after=2)
    cap = CaptureWorker(src, reopen_min_s=0.01, reopen_max_s=0.02)
    cap.start()
    wait_until(lambda: src.opened >= 3, 5, "reopened after failures")
    cap.stop()
    assert cap.state in ("error", "stopped") and "simulated failure" in (cap.last_error or "")
