"""Per-camera recognition thread: frames from the capture queue -> faces -> gallery match -> observations."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from edge.camera.base import Frame
from edge.camera.capture import END, CaptureWorker
from edge.gateway.policy import GateInfo, Observation
from edge.recognition.encoder import FaceEncoder
from edge.recognition.gallery import Gallery

log = logging.getLogger(__name__)


class FaceWorker:
    def __init__(
        self,
        gate: GateInfo,
        capture: CaptureWorker,
        encoder: FaceEncoder,
        gallery: Gallery,
        *,
        tolerance: float,
        every_n_frames: int,
        submit: Callable[[Observation], object],
    ) -> None:
        self.gate = gate
        self.capture = capture
        self.camera_id = capture.source.name
        self.encoder = encoder
        self.gallery = gallery
        self.tolerance = tolerance
        self.every_n = every_n_frames
        self.submit = submit
        self.state = "starting"
        self.frames_seen = 0
        self.frames_processed = 0
        self.faces_seen = 0
        self.fps = 0.0
        self.last_error: str | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"faces-{self.camera_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        self.state = "running"
        window_t0, window_n = time.monotonic(), 0
        try:
            while not self._stop.is_set():
                try:
                    frame = self.capture.frames.get(timeout=0.5)
                except queue.Empty:
                    continue
                if frame is END:
                    self.state = "ended"
                    return
                self.frames_seen += 1
                window_n += 1
                if frame.index % self.every_n == 0:
                    self._process(frame)
                now = time.monotonic()
                if now - window_t0 >= 2.0:
                    self.fps, window_t0, window_n = window_n / (now - window_t0), now, 0
        finally:
            if self.state == "running":
                self.state = "stopped"
            self.finished.set()

    def _process(self, frame: Frame) -> None:
        try:
            faces = self.encoder.detect_bgr(frame.image)
        except Exception as exc:  # a bad frame must not stop the camera
            self.last_error = f"recognition failed on frame {frame.index}: {exc}"
            log.warning("camera %s: %s", self.camera_id, self.last_error)
            return
        self.frames_processed += 1
        for face in faces:
            self.faces_seen += 1
            m = self.gallery.match(face.encoding, self.tolerance)
            log.debug(
                "camera %s frame %d: face %dpx -> %s (nearest %.3f)",
                self.camera_id,
                frame.index,
                face.width,
                m.person_id,
                m.nearest_distance or -1,
            )
            self.submit(
                Observation(
                    self.gate,
                    self.camera_id,
                    "face",
                    frame.at_monotonic,
                    person_id=m.person_id,
                    distance=m.distance,
                )
            )
