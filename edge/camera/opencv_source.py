"""OpenCV camera adapter: a V4L2 device index, a video file, or a network stream (rtsp://, http://)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import cv2

from edge.camera.base import CameraError, Frame
from edge.config.model import CameraConfig

log = logging.getLogger(__name__)


def source_kind(source: str) -> str:
    if source.isdigit():
        return "device"
    if "://" in source:
        return "stream"
    return "file"


class OpenCvSource:
    def __init__(self, cfg: CameraConfig, stop: threading.Event | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.id
        self.kind = source_kind(cfg.source)
        self.is_live = self.kind != "file" or cfg.realtime
        self._stop = stop or threading.Event()
        self._cap: cv2.VideoCapture | None = None
        self._index = 0
        self._fps = 0.0
        self._t0 = 0.0

    def open(self) -> None:
        src = self.cfg.source
        if self.kind == "file" and not Path(src).is_file():
            raise CameraError(f"camera {self.name}: video file not found: {src}")
        cap = cv2.VideoCapture(int(src)) if self.kind == "device" else cv2.VideoCapture(src)
        if not cap.isOpened():
            cap.release()
            hint = {
                "device": f"is the camera plugged in and is /dev/video{src} readable?",
                "stream": "is the URL right and the camera reachable?",
                "file": "is it a video OpenCV can decode?",
            }[self.kind]
            raise CameraError(f"camera {self.name}: cannot open {src}: {hint}")
        if self.kind == "device":
            if self.cfg.width:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
            if self.cfg.height:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._cap = cap
        self._t0 = time.monotonic()
        self._index = 0
        log.info("camera %s opened (%s %s, %.1f fps)", self.name, self.kind, src, self._fps)

    def read(self) -> Frame | None:
        if self._cap is None:
            raise CameraError(f"camera {self.name} is not open")
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            if self.kind != "file":
                raise CameraError(f"camera {self.name}: no frame from {self.cfg.source}")
            if not self.cfg.loop:
                return None
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
            if not ok or image is None:
                return None
        if self.kind == "file" and self.cfg.realtime and self._fps > 0:
            due = self._t0 + self._index / self._fps
            delay = due - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
        frame = Frame(self._index, image, time.monotonic())
        self._index += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
