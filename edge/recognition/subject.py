"""Which face in a still photo is its subject, and whether another face competes with it.

Shared by enrolment (`edge enroll`, the web app), `edge identify` and the benchmarks, so all three look at the
same face. Enrolment photos are framed on the child; people behind them are smaller. YuNet finds those
bystanders (down to ~13 px), dlib's HOG did not: the old "exactly one face" rule rejected 131 of lfw_calib's 706
enrolment photos and left children without a template. Now:

* the subject is the face with the largest `width x centrality` (centrality 1 at the image centre, 0 at a
  corner): the largest face, unless a similar-sized one sits nearer the centre;
* another face **competes** when it is at least `COMPETING_RATIO` of the subject's width: the photo is then
  ambiguous (two people side by side) and is rejected as "several faces"; smaller faces are background and ignored.

COMPETING_RATIO = 0.8, measured on lfw_calib (docs/recognition.md, "Which face is enrolled"): 131 of its 706
enrolment photos hold more than one face, the second one 0.14-1.2 of the subject's width. The subject chosen as
above is the labelled person in all 131 (cosine 0.46-0.90 to the person's one-face photos, the other face at most
0.31), so the ratio is a safeguard, not a correction: at 0.8 the 31 photos with two people of similar size are
rejected (a school would retake them) and every person keeps at least two of their four or five photos; at 0.5,
106 photos are rejected and 3 people keep only one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge.camera.base import Image
from edge.recognition.backend import FaceBackend
from edge.recognition.encoder import Detection, Encoding

COMPETING_RATIO = 0.8
"""A second face at least this fraction of the subject's width makes the photo ambiguous (measured, see above)."""


@dataclass(frozen=True)
class Subject:
    face: Detection
    competing: list[Detection]
    """Other faces at least COMPETING_RATIO of the subject's width (the photo is ambiguous when non-empty)."""
    background: list[Detection]
    """Smaller faces: ignored."""


def centrality(det: Detection, width: int, height: int) -> float:
    """1.0 for a face centred in the image, falling linearly to 0.0 at a corner."""
    cx, cy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
    half_diagonal = math.hypot(width / 2, height / 2)
    return max(0.0, 1.0 - math.hypot(cx - width / 2, cy - height / 2) / half_diagonal)


def pick_subject(
    faces: list[Detection], image_shape: tuple[int, ...], ratio: float = COMPETING_RATIO
) -> Subject | None:
    """The photo's subject (largest x most central) and the faces that compete with it; None without faces."""
    if not faces:
        return None
    h, w = image_shape[0], image_shape[1]
    subject = max(faces, key=lambda f: f.width * centrality(f, w, h))
    others = [f for f in faces if f is not subject]
    competing = [f for f in others if f.width >= ratio * subject.width]
    background = [f for f in others if f.width < ratio * subject.width]
    return Subject(subject, competing, background)


def encode_face(backend: FaceBackend, rgb: Image, face: Detection, jitters: int = 1) -> Encoding:
    """Landmarks, alignment and embedding of one detected face: the one path every caller encodes through."""
    return backend.embed(backend.align(rgb, backend.landmarks(rgb, face)), jitters)
