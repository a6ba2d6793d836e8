"""The dlib backend: HOG detection, the 5-point shape predictor, dlib's ResNet on 150x150 chips (128-d)."""

from __future__ import annotations

import numpy as np

from edge.camera.base import Image
from edge.recognition import encoder
from edge.recognition.backend import Landmarks, ModelDefaults
from edge.recognition.encoder import Box, Detection, Encoding
from edge.recognition.models import model_id

DLIB_DEFAULTS = ModelDefaults(
    threshold=0.38,
    margin=0.08,
    verify_threshold=0.45,
    min_face_px=80,
    full_detect_every=3,
    min_sharpness=15.0,
    threshold_per_decade=0.018,
    reference_people=150,
    enrol_jitters=10,
)
"""Measured on lfw_calib's 1,491 strangers with a face HOG finds (`edge bench calibrate --model dlib`): the old 0.48
admitted 2.75 % of them against 150 people; 0.38 admits none (95 % bound 0.26 %), and 0.36 keeps it so at 1,799
people, hence 0.018 per tenfold growth. The price is the genuine rate: 36 % of genuine stills at 0.38 (84 % at
0.48). dlib is kept for comparison and old galleries; SFace is the model for face-only gates."""


class DlibBackend:
    name = "dlib"
    defaults = DLIB_DEFAULTS
    chip_size = encoder.CHIP_SIZE

    def __init__(self) -> None:
        self.model_id = model_id()

    def load(self) -> None:
        from edge.recognition import models

        models.hog_detector(), models.shape_predictor(), models.face_encoder()

    def detect(
        self, rgb: Image, *, roi: Box | None = None, upsample: int = 0, max_width: int | None = None
    ) -> list[Detection]:
        # HOG finds faces from ~80 px only: downscaling would lose the faces the gate needs, so max_width is unused
        return encoder.detect(rgb, upsample=upsample, roi=roi)

    def landmarks(self, rgb: Image, det: Detection) -> Landmarks:
        shape = encoder.landmarks(rgb, det.box)
        pts = encoder.landmark_points(shape)
        # 5-point model: 0-1 and 2-3 are the corners of each eye, 4 the nose
        frontal = np.stack([pts[0:2].mean(axis=0), pts[2:4].mean(axis=0), pts[4]]).astype(np.float32)
        return Landmarks(pts, frontal, shape)

    def align(self, rgb: Image, lm: Landmarks) -> Image:
        return encoder.face_chip(rgb, lm.raw)

    def embed(self, chip: Image, jitters: int = 1) -> Encoding:
        return encoder.encode_chip(chip, jitters)
