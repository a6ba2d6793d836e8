"""Enrolment: photos -> checked faces -> templates in the gallery (several per person), incrementally.

Photos come from a folder (DIR/<person_id>/*.jpg|png) or from a roster CSV's `photos` column. In each photo the
subject is the main face (largest and most central, edge.recognition.subject); smaller faces in the background are
ignored, a second face of comparable size makes the photo ambiguous ("several faces"). The subject must be at
least `min_face_px` wide and sharp enough; rejects are reported with their reason and never reach the gallery.
Every run ends with a per-person result: who has no template (not recognisable by face: the CLI exits non-zero,
the web app says so) and who has only one (recognised less reliably). Re-running updates only what changed: a
photo whose bytes (sha256) are already a template of that person is not encoded again. The gallery is written
once, atomically, at the end: an interrupted or failed run leaves the previous gallery untouched.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2

from edge.recognition.backend import DEFAULT_MODEL, FaceBackend, defaults_of, get_backend, model_id_of
from edge.recognition.encoder import Detection, load_image_rgb
from edge.recognition.gallery import Gallery, Template
from edge.recognition.quality import sharpness
from edge.recognition.subject import COMPETING_RATIO, encode_face, pick_subject
from edge.roster import read_roster_csv

log = logging.getLogger(__name__)

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
ENROL_MAX_WIDTH = 1280
"""Large photos are searched at this width (YuNet looks for faces up to a few hundred px; boxes stay full-size)."""


def jitters_for(model: str, jitters: int | None) -> int:
    """The jitters an enrolment with `model` uses: dlib averages its encoding over `jitters` jittered copies (its
    default 10); SFace computes one deterministic embedding and has no such option, so more than one jitter asked
    for it is refused (ValueError) rather than silently ignored (1 is what it does, and is accepted)."""
    default = defaults_of(model).enrol_jitters
    if default is None:
        if jitters is not None and jitters != 1:
            raise ValueError(
                f"--jitters is dlib's option (encodings averaged over jittered copies); {model} computes one"
                f" deterministic embedding per photo and cannot use {jitters}: leave --jitters out, or use --model dlib"
            )
        return 1
    return default if jitters is None else jitters


class EnrolLayoutError(ValueError):
    """The photo folder does not have the DIR/<person_id>/photo layout (nothing is enrolled or written)."""


Status = Literal["enrolled", "unchanged", "no face", "several faces", "face too small", "blurred", "unreadable"]


@dataclass(frozen=True)
class EnrolSettings:
    min_face_px: int = 64
    """Narrower faces are rejected: the encoder's 150 px chip would be mostly interpolation."""
    min_sharpness: float | None = None
    """Variance of the Laplacian on the 96x96 face crop below which a photo is rejected as blurred (None: the
    model's own, ModelDefaults.min_sharpness: dlib 15, sface 30; lfw_dev's enrolment photos score 45 and up)."""
    upsample: int = 1
    jitters: int = 10
    """dlib: encodings averaged over this many jittered copies (slower enrolment, steadier templates). Models
    without the option (SFace: ModelDefaults.enrol_jitters None) enrol with 1 whatever this says; the CLIs refuse
    an explicit --jitters for them (jitters_for)."""
    model: str = DEFAULT_MODEL
    """The recognition backend (config recognition.model); an existing gallery of another model is refused."""
    competing_ratio: float = COMPETING_RATIO
    """A second face at least this fraction of the subject's width rejects the photo (edge.recognition.subject)."""


@dataclass(frozen=True)
class PhotoResult:
    photo: str
    person_id: str
    status: Status
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.status in ("enrolled", "unchanged")


@dataclass(frozen=True)
class PersonResult:
    """One person's outcome: the templates they now have and the photos that were refused (with reasons)."""

    person_id: str
    templates: int
    rejected: list[PhotoResult]


@dataclass
class EnrolReport:
    results: list[PhotoResult]
    changed: bool
    gallery: Gallery

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.results)

    @property
    def rejected(self) -> list[PhotoResult]:
        return [r for r in self.results if not r.accepted]

    @property
    def people(self) -> list[PersonResult]:
        """Every person this run enrolled, in order, with their template count after the run."""
        by_person: dict[str, list[PhotoResult]] = {}
        for r in self.results:
            by_person.setdefault(r.person_id, []).append(r)
        return [
            PersonResult(pid, sum(r.accepted for r in rs), [r for r in rs if not r.accepted])
            for pid, rs in by_person.items()
        ]

    @property
    def without_template(self) -> list[PersonResult]:
        """People left with no template: the gate cannot recognise them by face (card only) until re-enrolled."""
        return [p for p in self.people if p.templates == 0]

    @property
    def single_template(self) -> list[PersonResult]:
        """People with one template: recognised, less reliably (one look at the camera to compare with)."""
        return [p for p in self.people if p.templates == 1]


def photos_from_folder(photos_dir: str | Path) -> dict[str, list[Path]]:
    """{person_id: photos} from DIR/<person_id>/*.jpg|jpeg|png; EnrolLayoutError when there is none."""
    root = Path(photos_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"photo folder {root} not found")
    people: dict[str, list[Path]] = {}
    for person_dir in sorted(d for d in root.iterdir() if d.is_dir()):
        photos = sorted(f for f in person_dir.iterdir() if f.suffix.lower() in PHOTO_SUFFIXES)
        if photos:
            people[person_dir.name] = photos
    if not people:
        loose = sum(f.is_file() and f.suffix.lower() in PHOTO_SUFFIXES for f in root.iterdir())
        found = f"{loose} photos directly in {root} and no person folders" if loose else f"no photos under {root}"
        raise EnrolLayoutError(
            f"{found}: expected one folder per person, named by roster person_id, e.g. {root}/s1234/front.jpg"
        )
    return people


def photos_from_roster(roster_csv: str | Path) -> dict[str, list[Path]]:
    """Photo paths from the roster's `photos` column, relative to the CSV's folder."""
    base = Path(roster_csv).parent
    return {p.person_id: [base / x for x in p.photos] for p in read_roster_csv(roster_csv) if p.photos}


def enroll(
    gallery_path: str | Path,
    people: dict[str, list[Path]],
    settings: EnrolSettings | None = None,
    *,
    key: bytes,
    on_result: Callable[[PhotoResult], None] | None = None,
) -> EnrolReport:
    """Enrol every listed person; their templates become exactly their accepted photos. Others are kept.
    The gallery is sealed with `key` (and an existing one opened with it)."""
    settings = settings or EnrolSettings()
    if not people:
        raise EnrolLayoutError("no people to enrol: nothing written")
    backend = get_backend(settings.model)
    path = Path(gallery_path)
    model = model_id_of(settings.model)
    jitters = settings.jitters if backend.defaults.enrol_jitters is not None else 1
    gallery = Gallery.load(path, key, model=model) if path.is_file() else Gallery(model=model, jitters=jitters)
    # an SFace gallery written before jitters were normalised says 10: its templates are the same (one pass)
    reuse = gallery.jitters == jitters or backend.defaults.enrol_jitters is None
    gallery.jitters = jitters
    results: list[PhotoResult] = []
    changed = not path.is_file()
    for person_id, photos in people.items():
        known = {t.photo_sha256: t for t in gallery.templates_of(person_id)} if reuse else {}
        templates: list[Template] = []
        for photo in photos:
            result, template = _enrol_photo(photo, person_id, known, settings, backend, jitters)
            results.append(result)
            if on_result:
                on_result(result)
            if template is not None:
                templates.append(template)
        before = {(t.photo_sha256, t.source) for t in gallery.templates_of(person_id)}
        if {(t.photo_sha256, t.source) for t in templates} != before or not reuse:
            gallery.set_person(person_id, templates)
            changed = True
    if changed:
        gallery.save(path, key)
    return EnrolReport(results, changed, gallery)


def _enrol_photo(
    photo: Path, person_id: str, known: dict[str, Template], s: EnrolSettings, backend: FaceBackend, jitters: int
) -> tuple[PhotoResult, Template | None]:
    source = f"{person_id}/{photo.name}"
    try:
        data = photo.read_bytes()
    except OSError as exc:
        return PhotoResult(str(photo), person_id, "unreadable", exc.strerror or str(exc)), None
    digest = hashlib.sha256(data).hexdigest()
    if digest in known:
        old = known[digest]
        return PhotoResult(str(photo), person_id, "unchanged"), Template(person_id, source, digest, old.encoding)
    try:
        rgb = load_image_rgb(str(photo))
    except ValueError as exc:
        return PhotoResult(str(photo), person_id, "unreadable", str(exc)), None
    faces = backend.detect(rgb, upsample=s.upsample, max_width=ENROL_MAX_WIDTH)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    min_sharp = backend.defaults.min_sharpness if s.min_sharpness is None else s.min_sharpness
    status, detail, face = judge_photo(faces, rgb.shape, lambda f: sharpness(gray, f.box), s, min_sharp)
    if face is None:
        return PhotoResult(str(photo), person_id, status, detail), None
    encoding = encode_face(backend, rgb, face, jitters)
    return PhotoResult(str(photo), person_id, "enrolled", detail), Template(person_id, source, digest, encoding)


def judge_photo(
    faces: list[Detection],
    image_shape: tuple[int, ...],
    sharpness_of: Callable[[Detection], float],
    s: EnrolSettings,
    min_sharp: float,
) -> tuple[Status, str, Detection | None]:
    """The enrolment checks on one photo's detections: (status, detail, the face to encode or None).

    Pure (no image work beyond `sharpness_of`), so the calibration benchmark replays it on cached detections
    and gets exactly the product's decisions."""
    subject = pick_subject(faces, image_shape, s.competing_ratio)
    if subject is None:
        return "no face", "", None
    face = subject.face
    if subject.competing:
        sizes = ", ".join(f"{f.width}px" for f in subject.competing)
        detail = (
            f"{len(faces)} faces: the main one {face.width}px, another {sizes}, at least"
            f" {s.competing_ratio:.0%} of its width: someone beside the child, retake the photo alone"
        )
        return "several faces", detail, None
    if face.width < s.min_face_px:
        return "face too small", f"face {face.width}px, needs {s.min_face_px}px", None
    sharp = sharpness_of(face)
    if sharp < min_sharp:
        # rounded down: 29.7 against a limit of 30 must not read "30, needs 30"
        return "blurred", f"sharpness {math.floor(sharp * 10) / 10:.1f}, needs {min_sharp:g} or more", None
    detail = f"face {face.width}px, sharpness {sharp:.0f}"
    if subject.background:
        detail += f", {len(subject.background)} smaller face(s) in the background ignored"
    return "enrolled", detail, face
