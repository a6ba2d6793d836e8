"""The dlib models behind recognition, loaded lazily (nothing heavy happens at import time).

Detector: dlib's HOG frontal face detector (finds faces from about 80 px wide at upsample 0).
Landmarks: the 5-point shape predictor. Encoder: dlib's ResNet producing a 128-d embedding per aligned
150x150 face chip. The model files ship in the `face_recognition_models` package; their sha256 is checked before
dlib reads them (a damaged file is a ModelFileError naming it, not a crash inside dlib).
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

from edge.recognition.model_files import DLIB_RESNET, DLIB_SHAPE, checked_path

ENCODER_NAME = "dlib_face_recognition_resnet_model_v1"


@functools.cache
def model_id() -> str:
    """Names the encoder and its version; recorded in every gallery so a model change is detected."""
    try:
        version = metadata.version("face_recognition_models")
    except metadata.PackageNotFoundError:  # pragma: no cover - the package is a hard dependency
        version = "unknown"
    return f"{ENCODER_NAME} (face_recognition_models {version})"


@functools.cache
def hog_detector() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


@functools.cache
def shape_predictor() -> Any:
    import dlib
    import face_recognition_models

    path = checked_path(DLIB_SHAPE, face_recognition_models.pose_predictor_five_point_model_location())
    return dlib.shape_predictor(str(path))


@functools.cache
def face_encoder() -> Any:
    import dlib
    import face_recognition_models

    path = checked_path(DLIB_RESNET, face_recognition_models.face_recognition_model_location())
    return dlib.face_recognition_model_v1(str(path))
