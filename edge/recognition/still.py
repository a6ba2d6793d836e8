"""Identify the subject of a still photo: the path `edge identify` and `edge bench accuracy` share.

The subject is the photo's main face (edge.recognition.subject: largest and most central), as at enrolment; it
is encoded through `subject.encode_face` and decided with the gallery's open-set rule (threshold for the
gallery's size, margin).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.camera.base import Image
from edge.recognition.backend import FaceBackend
from edge.recognition.decision import DecisionRule, Identification
from edge.recognition.encoder import Detection, Encoding
from edge.recognition.enroll import ENROL_MAX_WIDTH
from edge.recognition.gallery import Gallery
from edge.recognition.subject import encode_face, pick_subject


@dataclass(frozen=True)
class StillResult:
    faces: int
    face: Detection | None
    encoding: Encoding | None
    identification: Identification | None
    """None when the photo has no face."""


def identify_still(backend: FaceBackend, gallery: Gallery, rgb: Image, rule: DecisionRule) -> StillResult:
    faces = backend.detect(rgb, upsample=1, max_width=ENROL_MAX_WIDTH)
    subject = pick_subject(faces, rgb.shape)
    if subject is None:
        return StillResult(0, None, None, None)
    encoding = encode_face(backend, rgb, subject.face)
    return StillResult(len(faces), subject.face, encoding, gallery.identify(encoding, rule))
