"""What the gateway needs from a camera."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy.typing as npt

Image = npt.NDArray[Any]
"""An image array (uint8, HxWx3) as OpenCV and dlib use it."""


@dataclass(frozen=True)
class Frame:
    index: int
    image: Image
    """BGR, as OpenCV delivers it."""
    at_monotonic: float


class CameraError(Exception):
    """The camera cannot deliver frames (not found, unplugged, stream dropped)."""


class FrameSource(Protocol):
    name: str
    is_live: bool
    """Live sources drop frames when recognition is behind; files are read without loss."""

    def open(self) -> None: ...

    def read(self) -> Frame | None:
        """Next frame; None when a finite source has ended. Raises CameraError on failure."""
        ...

    def close(self) -> None: ...
