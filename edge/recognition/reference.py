"""The reference a user would otherwise pick: face_recognition's own video example loop.

Every frame: HOG detection (face_recognition's default, upsample 1), a 128-d encoding per face, the nearest
known face accepted within tolerance 0.6 (face_recognition's default). Used only by `edge bench recognition`
to measure the core against it, side by side, on the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.camera.base import Image

REFERENCE_TOLERANCE = 0.6


@dataclass(frozen=True)
class ReferenceFace:
    person_id: str | None
    distance: float
    width: int


class ReferenceLoop:
    def __init__(self, known_encodings: Any, known_ids: list[str], tolerance: float = REFERENCE_TOLERANCE) -> None:
        import face_recognition

        self._fr = face_recognition
        self.known = list(np.asarray(known_encodings, dtype=np.float64))
        self.ids = known_ids
        self.tolerance = tolerance
        self.encodings = 0

    def process(self, bgr: Image) -> list[ReferenceFace]:
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        boxes = self._fr.face_locations(rgb)
        encodings = self._fr.face_encodings(rgb, boxes)
        self.encodings += len(encodings)
        out = []
        for (_top, right, _bottom, left), enc in zip(boxes, encodings, strict=True):
            d = self._fr.face_distance(self.known, enc)
            i = int(np.argmin(d)) if len(d) else -1
            hit = i >= 0 and d[i] <= self.tolerance
            out.append(ReferenceFace(self.ids[i] if hit else None, float(d[i]) if i >= 0 else 9.9, right - left))
        return out
