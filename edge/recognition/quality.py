"""How good a face crop is for encoding: size, sharpness and how frontal it is.

Cheap (a resize, a Laplacian and five landmarks), so it runs on every detection; the core encodes only the
best-scoring detections of each track. Blur is what costs most at a gate (`edge bench accuracy --degrade`: 15 px of
motion blur drops lfw_dev's correct rate from 94 % to 35 %), and within one track the light and the camera are the
same, so the Laplacian variance ranks the looks by blur: `look_score` keeps it uncapped, and the sharpest look of
each window is the one encoded. (Across tracks it is not comparable: a dim morning at 35 % brightness scores 20
for a sharp face, a 15 px blur in good light 42 — so it ranks, it never rejects, a look.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.camera.base import Image
from edge.recognition.encoder import Box

FULL_SIZE_PX = 120
"""A face this wide or wider counts as full size (dlib's chips are 150 px including padding, SFace's 112)."""
SHARP_LAPLACIAN_VAR = 100.0
"""Variance of the Laplacian (on a 96x96 grey crop) from which a face counts as fully sharp."""


@dataclass(frozen=True)
class Quality:
    size: float
    sharpness: float
    """min(1, laplacian / SHARP_LAPLACIAN_VAR)."""
    frontal: float
    laplacian: float = 0.0
    """The blur measure itself: variance of the Laplacian on the 96x96 grey face crop (higher is sharper)."""

    @property
    def score(self) -> float:
        return self.size * self.sharpness * self.frontal

    @property
    def look_score(self) -> float:
        """Size x frontal x sharpness, the sharpness not capped: of two full-size frontal looks, the sharper wins."""
        return self.size * self.frontal * self.laplacian / SHARP_LAPLACIAN_VAR


def sharpness(gray: Image, box: Box) -> float:
    h, w = gray.shape[:2]
    left, top, right, bottom = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if right - left < 8 or bottom - top < 8:
        return 0.0
    crop = cv2.resize(gray[top:bottom, left:right], (96, 96), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(crop, cv2.CV_32F).var())


def frontal(points: npt.NDArray[np.float32]) -> float:
    """1.0 when the nose sits midway between the eyes; `points` is (3, 2): one eye, the other eye, the nose
    (each backend's Landmarks.frontal)."""
    eye_a, eye_b, nose = points[0], points[1], points[2]
    da, db = float(np.linalg.norm(nose - eye_a)), float(np.linalg.norm(nose - eye_b))
    if da + db == 0:
        return 0.0
    return max(0.0, 1.0 - 2.0 * abs(da - db) / (da + db))


def face_quality(gray: Image, box: Box, points: npt.NDArray[np.float32]) -> Quality:
    width = box[2] - box[0]
    lap = sharpness(gray, box)
    return Quality(
        size=min(1.0, width / FULL_SIZE_PX),
        sharpness=min(1.0, lap / SHARP_LAPLACIAN_VAR),
        frontal=frontal(points),
        laplacian=lap,
    )
