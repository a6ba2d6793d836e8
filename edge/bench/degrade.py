"""Image conditions for `edge bench accuracy --degrade`: what a gate camera does to a face that a portrait does not.

Each condition maps a clean RGB photo (and its main face's box and five landmarks, found once on the clean photo)
to a degraded one; the degraded photo then goes through the product's identification path like any other. The
strengths are the ones a gate meets (docs/recognition.md, "Mounting the camera"): a dim morning (35 % brightness),
a bright doorway behind the child (backlight), a child walking at 1-1.5 m/s with a 1/60 s exposure (9 px of motion
blur at the gate's scale) or 1/30 s (15 px), a cheap camera's JPEG (quality 20), a child far from the camera (face
40 px), a face mask (lower face, or up over the nose) and sunglasses.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from edge.camera.base import Image
from edge.recognition.encoder import Box

Points = npt.NDArray[np.float32]
"""(5, 2): right eye, left eye, nose tip, right and left mouth corners (YuNet's order)."""
Condition = Callable[[Image, Box, Points], Image]


def brightness(factor: float) -> Condition:
    def apply(rgb: Image, box: Box, pts: Points) -> Image:
        out: Image = np.clip(rgb.astype(np.float32) * factor, 0, 255).astype(np.uint8)
        return out

    return apply


def backlight(rgb: Image, box: Box, pts: Points) -> Image:
    """The face at 40 % of its light, the background pushed towards white (a sunlit doorway behind the child)."""
    h, w = rgb.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    rx, ry = (box[2] - box[0]) * 0.75, (box[3] - box[1]) * 0.9
    yy, xx = np.mgrid[0:h, 0:w]
    inside = np.clip(1.6 - np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2), 0, 1)[..., None]
    img = rgb.astype(np.float32)
    face = img * 0.4
    background = img * 0.5 + 200
    out: Image = np.clip(inside * face + (1 - inside) * background, 0, 255).astype(np.uint8)
    return out


def motion_blur(px: int) -> Condition:
    """Horizontal blur over `px` pixels (a child crossing the view during the exposure)."""
    kernel = np.zeros((px, px), np.float32)
    kernel[px // 2, :] = 1.0 / px

    def apply(rgb: Image, box: Box, pts: Points) -> Image:
        return cv2.filter2D(rgb, -1, kernel)

    return apply


def jpeg(quality: int) -> Condition:
    def apply(rgb: Image, box: Box, pts: Points) -> Image:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if not ok or bgr is None:
            raise ValueError(f"JPEG quality {quality}: the photo could not be re-encoded")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    return apply


def face_width(px: int) -> Condition:
    """The whole photo scaled down so the face is `px` wide (a child farther from the camera)."""

    def apply(rgb: Image, box: Box, pts: Points) -> Image:
        scale = px / max(1, box[2] - box[0])
        if scale >= 1:
            return rgb
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)

    return apply


def mask(over_nose: bool) -> Condition:
    """A plain light-blue face mask from below the nose tip (or from the nose bridge) to below the chin."""

    def apply(rgb: Image, box: Box, pts: Points) -> Image:
        eyes_y = (pts[0, 1] + pts[1, 1]) / 2
        nose_y = pts[2, 1]
        top = eyes_y + 0.45 * (nose_y - eyes_y) if over_nose else nose_y + 0.35 * (pts[3, 1] - nose_y)
        width = box[2] - box[0]
        left, right = box[0] - 0.05 * width, box[2] + 0.05 * width
        bottom = box[3] + 0.1 * (box[3] - box[1])
        poly = np.array([[left, top], [right, top], [right - 0.15 * width, bottom], [left + 0.15 * width, bottom]])
        out = rgb.copy()
        cv2.fillPoly(out, [poly.astype(np.int32)], (170, 200, 225))
        return out

    return apply


def sunglasses(rgb: Image, box: Box, pts: Points) -> Image:
    """Two dark lenses over the eyes and a bridge between them."""
    out = rgb.copy()
    eye_dist = float(np.linalg.norm(pts[0] - pts[1]))
    axes = (max(2, int(0.36 * eye_dist)), max(2, int(0.26 * eye_dist)))
    for eye in pts[:2]:
        cv2.ellipse(out, (int(eye[0]), int(eye[1])), axes, 0, 0, 360, (20, 20, 25), -1)
    a, b = pts[0].astype(int), pts[1].astype(int)
    cv2.line(out, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (20, 20, 25), max(2, int(0.06 * eye_dist)))
    return out


CONDITIONS: dict[str, Condition] = {
    "brightness-35": brightness(0.35),
    "backlight": backlight,
    "blur-9px": motion_blur(9),
    "blur-15px": motion_blur(15),
    "jpeg-20": jpeg(20),
    "face-40px": face_width(40),
    "mask-lower-face": mask(over_nose=False),
    "mask-over-nose": mask(over_nose=True),
    "sunglasses": sunglasses,
}
"""`--degrade all` runs these, in this order."""
