"""An uploaded enrolment photo, checked in memory: its type and size from its first bytes, then decoded with
OpenCV from the bytes (never written to disk), then the same face checks `edge distribution enroll` makes
(edge/recognition/enroll.py `judge_photo`: the main face, no competing face, wide enough, sharp enough) and one
template out.

Why read the dimensions from the header before decoding: a 5 MiB PNG of one colour can claim 30,000 x 30,000
pixels and would decode to 2.7 GB of RAM in the web process. The header says how large the picture is for the
price of a few bytes, so an oversized picture is refused before OpenCV allocates anything.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import cv2
import numpy as np

from edge.recognition.backend import FaceBackend
from edge.recognition.enroll import ENROL_MAX_WIDTH, EnrolSettings, judge_photo
from edge.recognition.gallery import Template
from edge.recognition.quality import sharpness
from edge.recognition.subject import encode_face

MAX_PIXELS = 50_000_000
"""A 48 MP phone photo still fits; more is a picture nobody takes of a student's face."""
MIN_SIDE = 64


class PhotoRefused(ValueError):
    """A photo that gives no template, with the reason shown to the office (nothing is stored)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        """A short key: not_image, too_large_picture, too_small_picture, no_face, several_faces, face_too_small,
        blurred."""
        self.detail = detail


@dataclass(frozen=True)
class PhotoInfo:
    kind: str
    """"jpeg" or "png"."""
    width: int
    height: int


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
"""JPEG start-of-frame markers (C4 is a Huffman table, C8 reserved, CC arithmetic conditioning)."""


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise PhotoRefused("not_image", "not a readable JPEG (a marker was expected)")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if length < 2:
            raise PhotoRefused("not_image", "not a readable JPEG (bad segment length)")
        if marker in _SOF:
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise PhotoRefused("not_image", "not a readable JPEG (no frame header)")


def photo_info(data: bytes) -> PhotoInfo:
    """The type and pixel size a JPEG or PNG declares; PhotoRefused for anything else or an unusable size."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise PhotoRefused("not_image", "not a readable PNG (no header)")
        width, height = struct.unpack(">II", data[16:24])
        kind = "png"
    elif data.startswith(b"\xff\xd8\xff"):
        width, height = _jpeg_size(data)
        kind = "jpeg"
    else:
        raise PhotoRefused("not_image", "not a JPEG or PNG photo")
    if width * height > MAX_PIXELS:
        raise PhotoRefused("too_large_picture", f"{width}x{height} pixels: at most {MAX_PIXELS // 1_000_000} MP")
    if min(width, height) < MIN_SIDE:
        raise PhotoRefused("too_small_picture", f"{width}x{height} pixels: at least {MIN_SIDE} px each side")
    return PhotoInfo(kind, width, height)


def decode_rgb(data: bytes) -> np.ndarray:
    """The photo as an RGB array, decoded from memory (EXIF orientation applied, as a phone shows it)."""
    photo_info(data)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise PhotoRefused("not_image", "the photo could not be decoded (corrupt or truncated)")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def template_from_photo(
    data: bytes, person_id: str, backend: FaceBackend, settings: EnrolSettings, jitters: int
) -> Template:
    """One template from one photo, with enroll.py's checks; PhotoRefused says why there is none."""
    rgb = decode_rgb(data)
    faces = backend.detect(rgb, upsample=settings.upsample, max_width=ENROL_MAX_WIDTH)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    need = backend.defaults.min_sharpness if settings.min_sharpness is None else settings.min_sharpness
    status, detail, face = judge_photo(faces, rgb.shape, lambda f: sharpness(gray, f.box), settings, need)
    if face is None:
        raise PhotoRefused(status.replace(" ", "_"), detail or "no face found in the photo")
    encoding = encode_face(backend, rgb, face, jitters)
    digest = hashlib.sha256(data).hexdigest()
    return Template(person_id, f"{person_id}/web-{digest[:12]}", digest, encoding)
