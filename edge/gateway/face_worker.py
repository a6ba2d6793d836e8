"""Per-camera recognition thread: frames from the capture queue -> recognition core -> one observation per track.

The encoder runs in worker processes (edge.recognition.encode_pool), so this thread only detects, tracks and
schedules; between frames it collects finished encodings. Capture never waits for it: live cameras drop the
oldest frame when it is behind (CaptureWorker counts them). A video file read as fast as possible (not
real time) is processed in lock step instead: each frame's encodings are awaited before the next frame, so a
file gives the same decisions on a loaded machine as on an idle one.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable

from edge.camera.capture import END, CaptureWorker
from edge.gateway.policy import GateInfo, Observation
from edge.ops.heartbeat import Heartbeat
from edge.recognition.core import RecognitionCore, TrackDecision
from edge.recognition.encode_pool import EncodeBackend
from edge.recognition.scores import score_fields

log = logging.getLogger(__name__)


class FaceWorker:
    def __init__(
        self,
        gate: GateInfo,
        capture: CaptureWorker,
        core: RecognitionCore,
        encoder: EncodeBackend,
        *,
        submit: Callable[[Observation], object],
        heartbeat: Heartbeat | None = None,
        on_decision: Callable[[float], None] | None = None,
    ) -> None:
        self.gate = gate
        self.capture = capture
        self.camera_id = capture.source.name
        self.core = core
        self.encoder = encoder
        self.submit = submit
        self.lockstep = not capture.source.is_live
        self.state = "starting"
        self.frames_seen = 0
        self.decisions = 0
        self.fps = 0.0
        self.latencies_ms: list[float] = []
        """Eligible face -> decision, last 100 decisions."""
        self.last_error: str | None = None
        self.finished = threading.Event()
        self.heartbeat = heartbeat
        """Beaten every loop and on every finished encoding in lock step: the systemd watchdog's proof of life."""
        self.on_decision = on_decision
        """Called with each decision's latency in seconds (metrics)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"faces-{self.camera_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self.encoder.close()

    def _run(self) -> None:
        self.state = "running"
        window_t0, window_n = time.monotonic(), 0
        try:
            while not self._stop.is_set():
                self._beat()
                try:
                    frame = self.capture.frames.get(timeout=0.05)
                except queue.Empty:
                    self._emit(self._guard(self.core.drain))
                    continue
                if frame is END:
                    self._emit(self._guard(self.core.finish))
                    self.state = "ended"
                    return
                self.frames_seen += 1
                window_n += 1
                self._emit(
                    self._guard(functools.partial(self.core.process, frame.index, frame.image, frame.at_monotonic))
                )
                while self.lockstep and self.encoder.pending and not self._stop.is_set():
                    waiting = self.encoder.pending
                    self._emit(self._guard(functools.partial(self.core.drain, 0.5)))
                    if self.encoder.pending < waiting:  # progress; a hung encoder process makes none
                        self._beat()
                now = time.monotonic()
                if now - window_t0 >= 2.0:
                    self.fps, window_t0, window_n = window_n / (now - window_t0), now, 0
        finally:
            if self.state == "running":
                self.state = "stopped"
            if self.heartbeat is not None and (self._stop.is_set() or self.state == "ended"):
                self.heartbeat.retire()  # ended on purpose: not a stuck loop (a crash leaves it to go stale)
            self.finished.set()

    def _beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.beat()

    def _guard(self, step: Callable[[], list[TrackDecision]]) -> list[TrackDecision]:
        try:
            return step()
        except Exception as exc:  # a bad frame or a dead encoder must not kill the camera thread
            msg = f"recognition failed: {type(exc).__name__}: {exc}"
            if msg != self.last_error:
                log.error("camera %s: %s", self.camera_id, msg)
            self.last_error = msg
            self.state = "error"
            self._stop.wait(1.0)
            return []

    def _emit(self, decisions: list[TrackDecision]) -> None:
        for d in decisions:
            self.decisions += 1
            self.latencies_ms = [*self.latencies_ms[-99:], (d.decided_at - d.eligible_at) * 1000]
            if self.on_decision is not None:
                self.on_decision(d.decided_at - d.eligible_at)
            ident = d.identification
            log.info(
                "camera %s track %d: %s (nearest %s, %s, margin %s, %s, %d encodings, look sharpness %s)",
                self.camera_id,
                d.track_id,
                ident.person_id or "unknown",
                ident.nearest,
                " ".join(f"{k} {v}" for k, v in score_fields(self.core.backend.name, ident.distance).items()),
                None if ident.margin is None else round(ident.margin, 3),
                ident.reason,
                len(d.encodings),
                [round(x) for x in d.look_sharpness],
            )
            self.submit(
                Observation(
                    self.gate,
                    self.camera_id,
                    "face",
                    d.decided_at,
                    person_id=ident.person_id,
                    distance=ident.distance if ident.person_id else None,
                    encodings=d.encodings,
                )
            )
