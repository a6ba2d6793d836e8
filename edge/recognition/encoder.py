"""dlib's detection, landmarks and 128-d encodings (the dlib backend), and the image helpers both backends share.

Boxes are (left, top, right, bottom) in pixels of the image given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.camera.base import Image
from edge.recognition import models

Encoding = npt.NDArray[np.float32]
Box = tuple[int, int, int, int]
CHIP_SIZE = 150
CHIP_PADDING = 0.25
"""dlib's encoder expects 150x150 chips aligned on the 5 landmarks with 25 % padding."""


@dataclass(frozen=True, eq=False)
class Detection:
    box: Box
    score: float
    points: npt.NDArray[np.float32] | None = None
    """Five landmarks when the detector gives them (YuNet: right eye, left eye, nose, mouth corners)."""

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


@dataclass(frozen=True)
class EncodedFace:
    box: Box
    encoding: Encoding

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


def detect(rgb: Image, *, upsample: int = 0, roi: Box | None = None, min_score: float = 0.0) -> list[Detection]:
    """HOG detection on the whole image or inside `roi` (boxes returned in whole-image pixels)."""
    ox = oy = 0
    img = rgb
    if roi is not None:
        h, w = rgb.shape[:2]
        left, top, right, bottom = max(0, roi[0]), max(0, roi[1]), min(w, roi[2]), min(h, roi[3])
        if right - left < 40 or bottom - top < 40:
            return []
        img, ox, oy = rgb[top:bottom, left:right], left, top
    rects, scores, _ = models.hog_detector().run(np.ascontiguousarray(img), upsample, min_score)
    return [
        Detection((r.left() + ox, r.top() + oy, r.right() + ox, r.bottom() + oy), float(s))
        for r, s in zip(rects, scores, strict=True)
    ]


def landmarks(rgb: Image, box: Box) -> Any:
    """The 5-point landmarks (a dlib full_object_detection) of the face in `box`."""
    import dlib

    return models.shape_predictor()(rgb, dlib.rectangle(*box))


def landmark_points(shape: Any) -> npt.NDArray[np.float32]:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def face_chip(rgb: Image, shape: Any) -> Image:
    """The aligned 150x150 chip the encoder takes (what compute_face_descriptor does internally)."""
    import dlib

    return np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING))


def encode_chip(chip: Image, jitters: int = 1) -> Encoding:
    return np.asarray(models.face_encoder().compute_face_descriptor(chip, jitters), dtype=np.float32)


def encode_faces(rgb: Image, boxes: list[Box], jitters: int = 1) -> list[EncodedFace]:
    return [EncodedFace(b, encode_chip(face_chip(rgb, landmarks(rgb, b)), jitters)) for b in boxes]


def to_rgb(bgr: Image) -> Image:
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def load_image_rgb(path: str) -> Image:
    """Read a photo as RGB; raises ValueError with a readable reason when it cannot be decoded."""
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise ValueError("empty file")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("not a readable image (corrupt or unsupported format)")
    return to_rgb(bgr)
