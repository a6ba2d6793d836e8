"""Every face of every photo of a data set, detected and encoded once through the product's code, in one file.

The threshold curves sweep thousands of (stranger, gallery) pairs over many thresholds and gallery sizes; encoding
~2,200 photos again for each would cost minutes of a shared CPU. The scan calls exactly what enrolment and
`edge identify` call — `backend.detect` (at ENROL_MAX_WIDTH), `quality.sharpness` on the face box and
`subject.encode_face` — and keeps every face (not only the subject), so `enroll.judge_photo` can be replayed on
the cached detections with any competing-face ratio and give the product's own decisions.

File (numpy .npz, one row per face; a photo with no face has one row with `found` false):
    photo  unicode   "<set>/<person>/<file>" relative to the data folder (set: enrolled | strangers)
    found  bool (n,); box int32 (n, 4); score float32; sharp float32 (Laplacian variance)
    shape  int32 (n, 2) the image's height and width
    emb    float32 (n, D) the face's embedding
    meta   JSON: model id, data folder
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.recognition.backend import FaceBackend, get_backend
from edge.recognition.encoder import Detection, load_image_rgb
from edge.recognition.enroll import ENROL_MAX_WIDTH, photos_from_folder
from edge.recognition.quality import sharpness
from edge.recognition.subject import encode_face


@dataclass(frozen=True)
class CachedFace:
    det: Detection
    sharp: float
    emb: npt.NDArray[np.float32]


@dataclass
class CachedPhoto:
    photo: str
    shape: tuple[int, int]
    faces: list[CachedFace]

    @property
    def set_name(self) -> str:
        return self.photo.split("/", 1)[0]

    @property
    def person(self) -> str:
        return self.photo.split("/")[1]


def scan(backend: FaceBackend, path: Path, upsample: int = 1) -> tuple[tuple[int, int], list[CachedFace]]:
    rgb = load_image_rgb(str(path))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    faces = backend.detect(rgb, upsample=upsample, max_width=ENROL_MAX_WIDTH)
    out = [CachedFace(f, sharpness(gray, f.box), encode_face(backend, rgb, f)) for f in faces]
    return (int(rgb.shape[0]), int(rgb.shape[1])), out


def build(data: Path, model: str, out: Path, *, progress: bool = False) -> None:
    """Scan data/enrolled/<person>/* and data/strangers/<person>/* and write the cache to `out`."""
    backend = get_backend(model)
    rows: dict[str, list[object]] = {k: [] for k in ("photo", "found", "box", "score", "sharp", "shape", "emb")}
    dim = 128
    done = 0
    for set_name in ("enrolled", "strangers"):
        for person, photos in photos_from_folder(data / set_name).items():
            for path in photos:
                shape, faces = scan(backend, path)
                name = f"{set_name}/{person}/{path.name}"
                for f in list[CachedFace | None](faces) or [None]:
                    rows["photo"].append(name)
                    rows["found"].append(f is not None)
                    rows["shape"].append(shape)
                    rows["box"].append(f.det.box if f else (-1, -1, -1, -1))
                    rows["score"].append(f.det.score if f else 0.0)
                    rows["sharp"].append(f.sharp if f else 0.0)
                    rows["emb"].append(f.emb if f else np.zeros(dim, np.float32))
                done += 1
                if progress and done % 200 == 0:
                    print(f"{done} photos", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        photo=np.array(rows["photo"], dtype=str),
        found=np.array(rows["found"], bool),
        box=np.array(rows["box"], np.int32),
        score=np.array(rows["score"], np.float32),
        sharp=np.array(rows["sharp"], np.float32),
        shape=np.array(rows["shape"], np.int32),
        emb=np.array(rows["emb"], np.float32).reshape(-1, dim),
        meta=np.array(json.dumps({"model": backend.model_id, "data": str(data)})),
    )


def load(path: Path) -> list[CachedPhoto]:
    with np.load(path, allow_pickle=False) as z:
        photos: dict[str, CachedPhoto] = {}
        for name, found, box, score, sharp, shape, emb in zip(
            z["photo"], z["found"], z["box"], z["score"], z["sharp"], z["shape"], z["emb"], strict=True
        ):
            p = photos.setdefault(str(name), CachedPhoto(str(name), (int(shape[0]), int(shape[1])), []))
            if found:
                det = Detection((int(box[0]), int(box[1]), int(box[2]), int(box[3])), float(score))
                p.faces.append(CachedFace(det, float(sharp), emb.astype(np.float32)))
    return list(photos.values())
