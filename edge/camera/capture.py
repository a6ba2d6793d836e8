"""The capture thread: reads a FrameSource into a bounded queue so capture never waits for recognition.

Live sources: when the queue is full the oldest frame is dropped (and counted) — recognition always sees
recent frames and memory never grows. Finite files (not real-time): the reader waits instead, so no frame is
lost. Camera failures are logged and the source reopened with backoff.
"""

from __future__ import annotations

import logging
import queue
import threading

from edge.camera.base import CameraError, Frame, FrameSource

log = logging.getLogger(__name__)

END = None
"""Put on the queue when a finite source has ended."""


class CaptureWorker:
    def __init__(
        self,
        source: FrameSource,
        *,
        queue_size: int = 2,
        stop: threading.Event | None = None,
        reopen_min_s: float = 0.5,
        reopen_max_s: float = 10.0,
    ) -> None:
        self.source = source
        self.frames: queue.Queue[Frame | None] = queue.Queue(maxsize=queue_size)
        self.stop_event = stop or threading.Event()
        self.reopen_min_s = reopen_min_s
        self.reopen_max_s = reopen_max_s
        self.state = "starting"
        self.captured = 0
        self.dropped = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"capture-{source.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self.stop_event.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        delay = self.reopen_min_s
        while not self.stop_event.is_set():
            try:
                self.source.open()
                self.state = "running"
                delay = self.reopen_min_s
                ended = self._read_until_end()
            except CameraError as exc:
                self._fail(str(exc))
                ended = False
            finally:
                self.source.close()
            if ended:
                self.state = "ended"
                log.info("camera %s: source ended after %d frames", self.source.name, self.captured)
                self._put(END)
                return
            self.stop_event.wait(delay)
            delay = min(delay * 2, self.reopen_max_s)
        self.state = "stopped"

    def _read_until_end(self) -> bool:
        while not self.stop_event.is_set():
            frame = self.source.read()
            if frame is None:
                return True
            self.captured += 1
            self._put(frame)
        return False

    def _put(self, frame: Frame | None) -> None:
        if self.source.is_live and frame is not END:
            while True:
                try:
                    self.frames.put_nowait(frame)
                    return
                except queue.Full:
                    try:
                        self.frames.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass
        while not self.stop_event.is_set():
            try:
                self.frames.put(frame, timeout=0.2)
                return
            except queue.Full:
                continue

    def _fail(self, msg: str) -> None:
        if msg != self.last_error:
            log.warning("%s (retrying)", msg)
        self.last_error = msg
        self.state = "error"
