"""The bytes of a distributed artifact: a gallery as the numpy .npz that a sealed gallery holds inside (no key:
the centre's and each gateway's at-rest keys differ, the gateway re-seals it with its own), a roster as its CSV.

Decoding checks what `Gallery.load` checks after opening a sealed file (arrays present and consistent, the
content digest of the meta matching, the model), so a decoded gallery is as trustworthy as a local one.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from edge import jsonstrict
from edge.recognition.gallery import DIM, Gallery, GalleryError, Template
from edge.roster import Person, read_roster_csv


def gallery_to_bytes(g: Gallery) -> bytes:
    templates = g.templates
    buf = io.BytesIO()
    np.savez_compressed(  # the ids and photo hashes are UTF-32 arrays: they shrink by 4 or more
        buf,
        encodings=np.stack([t.encoding for t in templates]).astype(np.float32)
        if templates
        else np.zeros((0, DIM), np.float32),
        person_ids=np.array([t.person_id for t in templates], dtype=str),
        sources=np.array([t.source for t in templates], dtype=str),
        photo_sha256=np.array([t.photo_sha256 for t in templates], dtype=str),
        meta=np.array(json.dumps(g.meta())),
    )
    return buf.getvalue()


def gallery_from_bytes(blob: bytes) -> Gallery:
    """A gallery from its distributed bytes; GalleryError when they do not hold one intact."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            meta = jsonstrict.loads(str(z["meta"]))
            enc = np.asarray(z["encodings"], np.float32).reshape(-1, DIM)
            rows = zip(z["person_ids"], z["sources"], z["photo_sha256"], enc, strict=True)
            templates = [Template(str(a), str(b), str(c), e) for a, b, c, e in rows]
        g = Gallery(
            str(meta["model"]),
            int(meta.get("jitters", 1)),
            str(meta["created_at"]),
            str(meta["updated_at"]),
            _templates=templates,  # one re-index (set_person per person would re-stack the matrix each time)
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise GalleryError(f"distributed gallery is unreadable: {exc}") from None
    if meta.get("sha256") != g.meta()["sha256"]:
        raise GalleryError("distributed gallery failed its content checksum")
    return g


def roster_from_bytes(blob: bytes) -> list[Person]:
    """Parse a distributed roster with the same checks as a local file (RosterError lists every bad line)."""
    with tempfile.TemporaryDirectory(prefix="edge-roster-") as tmp:
        path = Path(tmp) / "roster.csv"
        path.write_bytes(blob)
        return read_roster_csv(path)
