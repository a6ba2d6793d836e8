"""The recognition backend: detector, aligner and embedder behind one narrow interface.

Everything else (tracker, per-track fusion, the open-set rule, encoder workers, gallery, the CLI and the gateway)
sees only this interface, so the model is a config choice (`recognition.model: sface | dlib`). Embeddings are
128-d and compared by Euclidean distance in both; SFace's are L2-normalised, so its distance d and its cosine
similarity are one scale: cos = 1 - d^2 / 2. Each model has its own measured thresholds (ModelDefaults; the curves
are in docs/recognition.md). A gallery records its backend's `model_id` and is refused by another.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

import numpy as np
import numpy.typing as npt

from edge.camera.base import Image
from edge.recognition.encoder import Box, Detection, Encoding

ModelName = Literal["sface", "dlib"]
Fusion = Literal["nearest", "centroid"]
"""How a person's templates are compared with a face (edge.recognition.gallery.fuse_templates)."""
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)
DEFAULT_MODEL: ModelName = "sface"


@dataclass(frozen=True)
class ModelDefaults:
    """The decision rule measured for one model (docs/recognition.md, `edge bench accuracy --model`)."""

    threshold: float
    margin: float
    verify_threshold: float
    min_face_px: int
    """The core encodes faces at least this wide (detector's box). HOG needs ~80 px; YuNet's box for the same face
    is ~15 % narrower (73 vs 87 px on tests/fixtures obama_2 in a 640x360 frame), so SFace's 64 is the same face."""
    full_detect_every: int
    """The core searches the whole frame every n-th frame, in between only windows around tracked faces. YuNet's
    windows are cheap and track reliably, so a whole-frame search every 5th frame (a new face is found within
    167 ms, while it walks in, before it is large enough to be looked at) halves the detector's cost on gate_dev
    with the same decisions and latency; HOG's windows lose faces more often, dlib keeps 3."""
    min_sharpness: float
    """Enrolment: Laplacian variance of the face box below which a photo is blurred (boxes differ per detector:
    YuNet's include the hairline, so the same blur scores about twice HOG's)."""
    threshold_per_decade: float = 0.0
    """The threshold tightens by this (distance) for each tenfold growth of the gallery beyond reference_people
    (DecisionRule.threshold_for; measured on lfw_calib, docs/recognition.md)."""
    reference_people: int = 150
    """The gallery size `threshold` was set for (lfw_calib's enrolled people)."""
    enrol_jitters: int | None = None
    """Enrolment: encodings averaged over this many jittered copies of each photo (dlib's option; None: the model
    has no such option and `--jitters` is refused, edge.recognition.enroll.jitters_for)."""
    template_fusion: Fusion = "nearest"
    """How a person's several templates meet a face: "nearest" (the closest template) or "centroid" (their mean
    direction, one vector per person). Measured per model: docs/recognition.md, "Nearest template or centroid"."""


@dataclass(frozen=True, eq=False)
class Landmarks:
    points: npt.NDArray[np.float32]
    """(5, 2) in image pixels, in the model's own order."""
    frontal: npt.NDArray[np.float32]
    """(3, 2): one eye, the other eye, the nose tip (for the frontal score)."""
    raw: Any = None
    """What the backend's aligner needs (dlib: the full_object_detection; SFace: YuNet's 15-value row)."""


class FaceBackend(Protocol):
    name: str
    model_id: str
    """Names the embedding model exactly (file hash or package version): recorded in every gallery."""
    defaults: ModelDefaults
    chip_size: int

    def load(self) -> None:
        """Load (and check) the model files now rather than on first use; raises ModelFileError."""
        ...

    def detect(
        self, rgb: Image, *, roi: Box | None = None, upsample: int = 0, max_width: int | None = None
    ) -> list[Detection]:
        """Faces in the RGB image (or inside `roi`), boxes in whole-image pixels. `max_width`: detect on a copy
        downscaled to this width when the backend's detector allows it (boxes are still full-size)."""
        ...

    def landmarks(self, rgb: Image, det: Detection) -> Landmarks: ...

    def align(self, rgb: Image, lm: Landmarks) -> Image:
        """The aligned chip the embedder takes (chip_size x chip_size x 3, RGB, uint8)."""
        ...

    def embed(self, chip: Image, jitters: int = 1) -> Encoding:
        """(128,) float32."""
        ...


def model_id_of(name: str) -> str:
    """The model id of a backend without loading its model files."""
    if name == "sface":
        from edge.recognition.sface import SFACE_MODEL_ID

        return SFACE_MODEL_ID
    if name == "dlib":
        from edge.recognition.models import model_id

        return model_id()
    raise ValueError(f"unknown recognition model {name!r}: one of {', '.join(MODEL_NAMES)}")


def defaults_of(name: str) -> ModelDefaults:
    if name == "sface":
        from edge.recognition.sface import SFACE_DEFAULTS

        return SFACE_DEFAULTS
    if name == "dlib":
        from edge.recognition.dlib_backend import DLIB_DEFAULTS

        return DLIB_DEFAULTS
    raise ValueError(f"unknown recognition model {name!r}: one of {', '.join(MODEL_NAMES)}")


def fusion_of_model_id(model_id: str) -> Fusion:
    """The template fusion of the backend that made a gallery ("nearest" for a model this version does not know)."""
    for name in MODEL_NAMES:
        if model_id_of(name) == model_id:
            return defaults_of(name).template_fusion
    return "nearest"


@functools.cache
def get_backend(name: str = DEFAULT_MODEL) -> FaceBackend:
    """One backend object per model and process (the models load lazily, on first use)."""
    if name == "sface":
        from edge.recognition.sface import SFaceBackend

        return SFaceBackend()
    if name == "dlib":
        from edge.recognition.dlib_backend import DlibBackend

        return DlibBackend()
    raise ValueError(f"unknown recognition model {name!r}: one of {', '.join(MODEL_NAMES)}")


def backend_for_model_id(model_id: str) -> FaceBackend:
    """The backend that made a gallery (galleries name their model id)."""
    for name in MODEL_NAMES:
        if model_id_of(name) == model_id:
            return get_backend(name)
    raise ValueError(f"no backend for model {model_id!r} (known: {', '.join(MODEL_NAMES)})")
