"""The gallery: enrolled face templates (several per person), stored in one .npz file.

Format version 1 (numpy .npz, loaded with allow_pickle=False):
    encodings  float32 (N, 128)   one template per enrolled photo
    person_ids unicode (N,)       roster person_id of each template
    sources    unicode (N,)       the photo each template came from ("<person_id>/<file>")
    meta       unicode ()         JSON: {"format": 1, "model": ..., "created_at": ..., "sha256": ...}
`sha256` covers the three arrays; a mismatch means the file is corrupt and it is refused.
Writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

GALLERY_FORMAT = 1
MODEL = "dlib_face_recognition_resnet_model_v1 (face_recognition_models 0.3.0)"


class GalleryError(Exception):
    """The gallery file is missing, unreadable, of another format, or corrupt."""


@dataclass(frozen=True)
class Match:
    person_id: str | None
    """None when the nearest template is farther than the tolerance."""
    distance: float | None
    """Distance to the nearest template of the matched person; None when unmatched."""
    nearest_distance: float | None
    """Distance to the nearest template whatever it is (None on an empty gallery)."""


@dataclass
class Gallery:
    encodings: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 128), np.float32))
    person_ids: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.person_ids)

    @property
    def people(self) -> list[str]:
        return sorted(set(self.person_ids))

    def replace_person(self, person_id: str, encodings: list[npt.NDArray[np.float64]], sources: list[str]) -> None:
        keep = [i for i, p in enumerate(self.person_ids) if p != person_id]
        enc = self.encodings[keep] if keep else np.zeros((0, 128), np.float32)
        if encodings:
            enc = np.vstack([enc, np.asarray(encodings, dtype=np.float32)])
        self.encodings = enc
        self.person_ids = [self.person_ids[i] for i in keep] + [person_id] * len(encodings)
        self.sources = [self.sources[i] for i in keep] + list(sources)

    def match(self, encoding: npt.NDArray[np.float64], tolerance: float) -> Match:
        """Nearest template (one vectorised distance computation); a match only within `tolerance`."""
        if len(self) == 0:
            return Match(None, None, None)
        d = np.linalg.norm(self.encodings - encoding.astype(np.float32), axis=1)
        i = int(np.argmin(d))
        best = float(d[i])
        if best <= tolerance:
            return Match(self.person_ids[i], best, best)
        return Match(None, None, best)

    # storage ------------------------------------------------------------------------------------------
    def _digest(self) -> str:
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.encodings, dtype=np.float32).tobytes())
        h.update("\n".join(self.person_ids).encode())
        h.update(b"\0")
        h.update("\n".join(self.sources).encode())
        return h.hexdigest()

    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": GALLERY_FORMAT,
            "model": MODEL,
            "created_at": datetime.now(UTC).isoformat(),
            "templates": len(self),
            "people": len(self.people),
            "sha256": self._digest(),
        }
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=p.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    encodings=self.encodings.astype(np.float32),
                    person_ids=np.array(self.person_ids, dtype=str),
                    sources=np.array(self.sources, dtype=str),
                    meta=np.array(json.dumps(meta)),
                )
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> Gallery:
        p = Path(path)
        if not p.is_file():
            raise GalleryError(f"gallery {p} not found: run 'edge enroll --gallery {p} --photos DIR' first")
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                g = cls(
                    np.asarray(z["encodings"], np.float32).reshape(-1, 128),
                    [str(x) for x in z["person_ids"]],
                    [str(x) for x in z["sources"]],
                )
        except (OSError, ValueError, KeyError) as exc:
            raise GalleryError(f"gallery {p} is unreadable: {exc}") from exc
        if meta.get("format") != GALLERY_FORMAT:
            raise GalleryError(f"gallery {p} has format {meta.get('format')}, this version reads {GALLERY_FORMAT}")
        if meta.get("sha256") != g._digest():
            raise GalleryError(f"gallery {p} failed its checksum: the file is corrupt, re-run 'edge enroll'")
        return g
