"""The gallery: enrolled face templates (several per person), one encrypted file, matched as one matrix.

On disk (format 3, docs/recognition.md): an AES-256-GCM envelope (edge.security.sealed) whose clear,
authenticated header is JSON {"kind": "edge-gallery", "format": 3, "model": ...}; inside, a numpy .npz (loaded
with allow_pickle=False):
    encodings    float32 (N, 128)  one template per accepted photo, rows grouped by person
    person_ids   unicode (N,)      roster person_id of each template
    sources      unicode (N,)      the photo each template came from
    photo_sha256 unicode (N,)      sha256 of that photo's bytes (re-enrolment skips unchanged photos)
    meta         unicode ()        JSON: format, model, jitters, created_at, updated_at, templates, people, sha256
`sha256` covers the four arrays and the model; a mismatch means the file is corrupt and it is refused, as is
a gallery made with another encoder model (its distances would mean nothing). A wrong key or a tampered file is
a GalleryError naming the file. Writes are atomic, the file 0600.

Matching: a person's templates meet a face as their model's `template_fusion` says (fuse_templates): SFace
compares the face with the person's **centroid** (the templates' mean direction), dlib with the nearest template.
The centroid of two photos is nearer the person's true face than either photo, and it is one vector per person
however many photos they have (a stranger gets one chance per person, not one per photo): on lfw_calib, at the
same threshold (cosine 0.48, 149 people), 98.8 % of genuine stills are recognised instead of 98.3 % and the
closest of 1,500 strangers scores 0.465 instead of 0.477; lfw_dev 97.1 % instead of 94.3 % (docs/recognition.md,
"Nearest template or centroid").
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.recognition.backend import DEFAULT_MODEL, Fusion, fusion_of_model_id, model_id_of
from edge.recognition.decision import DecisionRule, Identification, decide
from edge.security.private_files import write_private
from edge.security.sealed import SealedError, is_sealed, open_sealed, peek_aad, seal

GALLERY_FORMAT = 3
GALLERY_KIND = "edge-gallery"
DIM = 128


def fuse_templates(templates: npt.NDArray[Any], fusion: Fusion) -> npt.NDArray[np.float64]:
    """The vectors a face is compared with for one person, from their (k, D) templates: all of them ("nearest":
    the closest decides), or one ("centroid"): the templates' mean direction at their mean length — for SFace's
    unit vectors the normalised mean, whose Euclidean distance is again 1 - d^2/2 = cosine. One template is its
    own centroid. Float64: `Gallery.identify` re-measures its decisions with these exact vectors."""
    t = np.atleast_2d(np.asarray(templates, dtype=np.float64))
    if fusion == "nearest" or len(t) <= 1:
        return t
    mean = t.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm == 0.0:
        return t
    out: npt.NDArray[np.float64] = (mean * (float(np.linalg.norm(t, axis=1).mean()) / norm))[None, :]
    return out


class GalleryError(Exception):
    """The gallery file is missing, unreadable, of another format or model, or corrupt."""


@dataclass(frozen=True)
class Template:
    person_id: str
    source: str
    photo_sha256: str
    encoding: npt.NDArray[np.float32]


@dataclass
class Gallery:
    model: str = field(default_factory=lambda: model_id_of(DEFAULT_MODEL))
    jitters: int = 1
    created_at: str = ""
    updated_at: str = ""
    _templates: list[Template] = field(default_factory=list)
    fusion: Fusion | None = None
    """How a person's templates meet a face (fuse_templates); None: the model's own (ModelDefaults)."""

    def __post_init__(self) -> None:
        if self.fusion is None:
            self.fusion = fusion_of_model_id(self.model)
        self._reindex()

    # contents ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._templates)

    @property
    def people(self) -> list[str]:
        return list(self._people)

    @property
    def templates(self) -> list[Template]:
        return list(self._templates)

    def with_fusion(self, fusion: Fusion) -> Gallery:
        """The same templates matched another way (benchmarks' A/B of the template fusion)."""
        return Gallery(self.model, self.jitters, self.created_at, self.updated_at, list(self._templates), fusion)

    def templates_of(self, person_id: str) -> list[Template]:
        return [t for t in self._templates if t.person_id == person_id]

    def set_person(self, person_id: str, templates: list[Template]) -> None:
        """Replace all templates of one person (an empty list removes the person)."""
        assert all(t.person_id == person_id for t in templates)
        self._templates = [t for t in self._templates if t.person_id != person_id] + list(templates)
        self._reindex()

    def remove(self, person_id: str) -> int:
        before = len(self._templates)
        self.set_person(person_id, [])
        return before - len(self._templates)

    def _reindex(self) -> None:
        self._templates.sort(key=lambda t: (t.person_id, t.source))
        ids = [t.person_id for t in self._templates]
        self._people: list[str] = sorted(set(ids))
        self._matrix = (
            np.stack([t.encoding for t in self._templates]).astype(np.float32)
            if self._templates
            else np.zeros((0, DIM), np.float32)
        )
        starts, last = [], None
        for i, pid in enumerate(ids):
            if pid != last:
                starts.append(i)
                last = pid
        self._starts = np.array(starts, dtype=np.intp)
        # the vectors matched: per person, fuse_templates of their rows (grouped, person by person)
        bounds = [*starts, len(ids)]
        fused = [fuse_templates(self._matrix[a:b], self._fusion()) for a, b in itertools.pairwise(bounds)]
        self._match = np.concatenate(fused).astype(np.float32) if fused else np.zeros((0, DIM), np.float32)
        self._match_sq = np.einsum("ij,ij->i", self._match, self._match)
        self._match_starts = np.cumsum([0] + [len(f) for f in fused[:-1]]).astype(np.intp)

    def _fusion(self) -> Fusion:
        return self.fusion or "nearest"

    # matching ------------------------------------------------------------------------------------------
    def person_distances(self, queries: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """(k, P): for each query encoding, the distance to each person (their nearest fused vector, see
        fuse_templates: the centroid for SFace, the nearest template for dlib). One matrix product.

        Fast, for ranking: |a|^2 + |b|^2 - 2ab in float32 loses digits when the distance is small next to the
        norms (and the last digits depend on the BLAS kernel). `identify` and `verify` recompute the
        distances they decide on exactly."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if not self._people:
            return np.zeros((q.shape[0], 0), np.float32)
        d2 = self._match_sq[None, :] - 2.0 * (q @ self._match.T) + np.einsum("ij,ij->i", q, q)[:, None]
        d = np.sqrt(np.maximum(d2, 0.0, out=d2))
        return np.minimum.reduceat(d, self._match_starts, axis=1)

    def _exact_distance(self, queries: npt.NDArray[Any], person: int) -> float:
        """The fused (mean over queries) distance to one person's nearest fused vector, in float64 from
        differences (the fused vectors recomputed in float64 from the templates)."""
        end = self._starts[person + 1] if person + 1 < len(self._starts) else len(self._matrix)
        rows = fuse_templates(self._matrix[self._starts[person] : end], self._fusion())
        q = np.atleast_2d(np.asarray(queries, dtype=np.float64))
        return float(np.linalg.norm(q[:, None, :] - rows[None, :, :], axis=2).min(axis=1).mean())

    def identify(self, queries: npt.NDArray[Any], rule: DecisionRule) -> Identification:
        """1:N with the open-set rule; several encodings (one track) are fused by averaging their distances.
        The matrix product ranks everyone; the three nearest people are then measured exactly, so the
        threshold and margin see exact distances."""
        per_person = self.person_distances(queries).mean(axis=0).astype(np.float64)
        k = min(3, len(per_person))
        for i in np.argpartition(per_person, k - 1)[:k] if k else ():
            per_person[i] = self._exact_distance(queries, int(i))
        return decide(self._people, per_person, rule)

    def verify(self, person_id: str, queries: npt.NDArray[Any]) -> float | None:
        """1:1: the fused distance of the encodings to one person's templates (None if not enrolled)."""
        if person_id not in self._people:
            return None
        return self._exact_distance(queries, self._people.index(person_id))

    # storage -------------------------------------------------------------------------------------------
    def _digest(self) -> str:
        h = hashlib.sha256(self.model.encode() + b"\0")
        h.update(np.ascontiguousarray(self._matrix, dtype=np.float32).tobytes())
        for t in self._templates:
            h.update(f"{t.person_id}\0{t.source}\0{t.photo_sha256}\n".encode())
        return h.hexdigest()

    def meta(self) -> dict[str, Any]:
        return {
            "format": GALLERY_FORMAT,
            "model": self.model,
            "jitters": self.jitters,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "templates": len(self),
            "people": len(self._people),
            "sha256": self._digest(),
        }

    def _aad(self) -> bytes:
        return json.dumps({"kind": GALLERY_KIND, "format": GALLERY_FORMAT, "model": self.model}).encode()

    def save(self, path: str | Path, key: bytes) -> None:
        """Seal with `key` and write atomically (0600; a folder created for it is 0700)."""
        p = Path(path)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.created_at = self.created_at or now
        self.updated_at = now
        buf = io.BytesIO()
        np.savez(
            buf,
            encodings=self._matrix,
            person_ids=np.array([t.person_id for t in self._templates], dtype=str),
            sources=np.array([t.source for t in self._templates], dtype=str),
            photo_sha256=np.array([t.photo_sha256 for t in self._templates], dtype=str),
            meta=np.array(json.dumps(self.meta())),
        )
        write_private(p, seal(key, buf.getvalue(), self._aad()))

    @classmethod
    def load(cls, path: str | Path, key: bytes, *, model: str | None = None) -> Gallery:
        """Open, authenticate and check a gallery; `model`: the model id it must have been made with (None: any)."""
        p = Path(path)
        if not p.is_file():
            raise GalleryError(f"gallery {p} not found: run 'edge enroll --gallery {p} --photos DIR' first")
        try:
            blob = p.read_bytes()
        except OSError as exc:
            raise GalleryError(f"gallery {p} is unreadable: {exc.strerror or exc}") from exc
        if not is_sealed(blob):
            raise GalleryError(
                f"gallery {p} is not an encrypted gallery (format 2 or older, or another file): re-enrol"
            )
        try:
            header = json.loads(peek_aad(blob))
            if header.get("kind") != GALLERY_KIND or header.get("format") != GALLERY_FORMAT:
                raise GalleryError(
                    f"gallery {p} has format {header.get('format')}, this version reads {GALLERY_FORMAT}: re-enrol"
                )
            _, plain = open_sealed(key, blob)
        except SealedError as exc:
            raise GalleryError(f"gallery {p} cannot be opened: {exc}") from None
        except (ValueError, AttributeError) as exc:
            raise GalleryError(f"gallery {p} has a damaged header: {exc}") from None
        try:
            with np.load(io.BytesIO(plain), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                enc = np.asarray(z["encodings"], np.float32).reshape(-1, DIM)
                rows = zip(z["person_ids"], z["sources"], z["photo_sha256"], enc, strict=True)
                templates = [Template(str(a), str(b), str(c), e) for a, b, c, e in rows]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise GalleryError(f"gallery {p} is unreadable: {exc}") from exc
        g = cls(str(meta["model"]), int(meta.get("jitters", 1)), str(meta["created_at"]), str(meta["updated_at"]))
        g._templates = templates
        g._reindex()
        if meta.get("sha256") != g._digest() or g.model != header.get("model"):
            raise GalleryError(f"gallery {p} failed its checksum: the file is corrupt, re-run 'edge enroll'")
        if model is not None and g.model != model:
            raise GalleryError(f"gallery {p} was made with {g.model}, this gateway runs {model}: re-enrol")
        return g
