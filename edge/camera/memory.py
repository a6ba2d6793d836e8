"""In-memory camera for tests: plays a list of images."""

from __future__ import annotations

import time
from collections.abc import Sequence

from edge.camera.base import CameraError, Frame, Image


class ArraySource:
    def __init__(
        self,
        images: Sequence[Image],
        name: str = "memory",
        *,
        is_live: bool = False,
        fail_after: int | None = None,
        interval_s: float = 0.0,
    ) -> None:
        self.name = name
        self.is_live = is_live
        self._images = images
        self._i = 0
        self._fail_after = fail_after
        self._interval_s = interval_s
        """Live-camera pacing: seconds between frames (0: as fast as memory allows)."""
        self._next = 0.0
        self.opened = 0

    def open(self) -> None:
        self.opened += 1

    def read(self) -> Frame | None:
        if self._fail_after is not None and self._i >= self._fail_after:
            raise CameraError(f"{self.name}: simulated failure")
        if self._i >= len(self._images):
            return None
        if self._interval_s:
            now = time.monotonic()
            if self._next > now:
                time.sleep(self._next - now)
            self._next = max(now, self._next) + self._interval_s
        frame = Frame(self._i, self._images[self._i], time.monotonic())
        self._i += 1
        return frame

    def close(self) -> None:
        pass
