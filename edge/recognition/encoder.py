"""Face detection and 128-d encodings via face_recognition (dlib HOG detector + ResNet encoder)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.camera.base import Image

Encoding = npt.NDArray[np.float64]
Box = tuple[int, int, int, int]
"""(top, right, bottom, left) in pixels, face_recognition's order."""


@dataclass(frozen=True)
class DetectedFace:
    box: Box
    encoding: Encoding

    @property
    def width(self) -> int:
        return self.box[1] - self.box[3]


class FaceEncoder:
    """Detects faces and encodes them. Imports dlib lazily: nothing heavy happens at import time."""

    def __init__(self, *, upsample: int = 0, detect_scale: float = 1.0, min_face_px: int = 40) -> None:
        import face_recognition

        self._fr = face_recognition
        self.upsample = upsample
        self.detect_scale = detect_scale
        self.min_face_px = min_face_px

    def locate(self, rgb: Image) -> list[Box]:
        small = rgb
        if self.detect_scale != 1.0:
            small = cv2.resize(rgb, None, fx=self.detect_scale, fy=self.detect_scale, interpolation=cv2.INTER_AREA)
        boxes: list[Box] = self._fr.face_locations(small, number_of_times_to_upsample=self.upsample, model="hog")
        if self.detect_scale != 1.0:
            s = 1.0 / self.detect_scale
            boxes = [(int(t * s), int(r * s), int(b * s), int(left * s)) for t, r, b, left in boxes]
        return [b for b in boxes if b[1] - b[3] >= self.min_face_px]

    def encode(self, rgb: Image, boxes: list[Box]) -> list[DetectedFace]:
        if not boxes:
            return []
        encodings = self._fr.face_encodings(rgb, known_face_locations=boxes, num_jitters=1, model="small")
        return [DetectedFace(b, np.asarray(e, dtype=np.float64)) for b, e in zip(boxes, encodings, strict=True)]

    def detect_bgr(self, bgr: Image) -> list[DetectedFace]:
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        return self.encode(rgb, self.locate(rgb))


def load_image_rgb(path: str) -> Image:
    """Read a photo as RGB; raises ValueError with a readable reason when it cannot be decoded."""
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise ValueError("empty file")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("not a readable image")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
