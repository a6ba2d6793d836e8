"""Enrolment: a folder of photos (DIR/<person_id>/*.jpg|png) into the gallery, one template per good photo."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from edge.recognition.encoder import FaceEncoder, load_image_rgb
from edge.recognition.gallery import Gallery

log = logging.getLogger(__name__)

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
Status = Literal["enrolled", "no face", "several faces", "unreadable"]


@dataclass(frozen=True)
class PhotoResult:
    photo: str
    person_id: str
    status: Status
    detail: str = ""


def find_photos(photos_dir: Path) -> dict[str, list[Path]]:
    if not photos_dir.is_dir():
        raise FileNotFoundError(f"photo folder {photos_dir} not found")
    people: dict[str, list[Path]] = {}
    for person_dir in sorted(d for d in photos_dir.iterdir() if d.is_dir()):
        photos = sorted(f for f in person_dir.iterdir() if f.suffix.lower() in PHOTO_SUFFIXES)
        if photos:
            people[person_dir.name] = photos
    return people


def enroll_directory(
    gallery_path: str | Path,
    photos_dir: str | Path,
    *,
    encoder: FaceEncoder | None = None,
    on_result: Callable[[PhotoResult], None] | None = None,
) -> list[PhotoResult]:
    """Encode every photo; each person found in the folder has their templates replaced, others are kept."""
    encoder = encoder or FaceEncoder(upsample=1, min_face_px=20)
    people = find_photos(Path(photos_dir))
    gallery = Gallery.load(gallery_path) if Path(gallery_path).is_file() else Gallery()
    results: list[PhotoResult] = []
    for person_id, photos in people.items():
        encodings: list[npt.NDArray[np.float64]] = []
        sources: list[str] = []
        for photo in photos:
            result = _encode_photo(encoder, photo, person_id, encodings)
            if result.status == "enrolled":
                sources.append(f"{person_id}/{photo.name}")
            results.append(result)
            if on_result:
                on_result(result)
        if encodings:
            gallery.replace_person(person_id, encodings, sources)
    gallery.save(gallery_path)
    return results


def _encode_photo(encoder: FaceEncoder, photo: Path, person_id: str, out: list[npt.NDArray[np.float64]]) -> PhotoResult:
    try:
        rgb = load_image_rgb(str(photo))
    except ValueError as exc:
        return PhotoResult(str(photo), person_id, "unreadable", str(exc))
    boxes = encoder.locate(rgb)
    if not boxes:
        return PhotoResult(str(photo), person_id, "no face")
    if len(boxes) > 1:
        return PhotoResult(str(photo), person_id, "several faces", f"{len(boxes)} faces")
    face = encoder.encode(rgb, boxes)[0]
    out.append(face.encoding)
    return PhotoResult(str(photo), person_id, "enrolled", f"face {face.width}px")
