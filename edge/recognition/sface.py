"""The SFace backend: OpenCV Zoo's YuNet detector, SFace's 5-point alignment and the SFace embedding (128-d).

All through OpenCV's own DNN module (already a dependency; no extra runtime). YuNet gives the five landmarks
with each box, so landmarks cost nothing; the 112x112 chip is aligned as `FaceRecognizerSF.alignCrop` does; the
embedding runs through `cv2.dnn.readNetFromONNX` with the input named 'data' (with OpenCV 5 the block-quantised
model fails inside `FaceRecognizerSF.feature`). The alignment is alignCrop's own: the least-squares similarity
(Umeyama) from YuNet's five points to SFace's 112x112 template, then warpAffine; done here because
`FaceRecognizerSF.create` loads the whole SFace network (about 60 MB) only to align. tests/test_backend_contract.py
checks it against `FaceRecognizerSF.alignCrop` (equal within one grey level).
Embeddings are L2-normalised, so Euclidean distance d and cosine similarity are one scale: cos = 1 - d^2 / 2.
OpenCV objects are not thread-safe: each thread gets its own. YuNet is cheap enough to run on a frame downscaled
to `max_width` (it finds faces from ~20 px, so halving a frame keeps every face the gate needs, >= 80 px).
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from edge.camera.base import Image
from edge.recognition.backend import Landmarks, ModelDefaults
from edge.recognition.encoder import Box, Detection, Encoding
from edge.recognition.model_files import SFACE, YUNET, model_path

SFACE_MODEL_ID = (
    f"sface_2021dec_int8bq (sha256 {SFACE.sha256[:16]}) + yunet_2023mar_int8bq (sha256 {YUNET.sha256[:16]})"
)
TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float64
)
"""Where SFace (like ArcFace) expects the eyes, nose tip and mouth corners in its 112x112 input."""
SFACE_DEFAULTS = ModelDefaults(
    threshold=1.020,
    margin=0.06,
    verify_threshold=1.077,
    min_face_px=64,
    full_detect_every=5,
    min_sharpness=30.0,
    threshold_per_decade=0.055,
    reference_people=150,
    template_fusion="centroid",
)
"""Euclidean on unit vectors. threshold 1.020 is cosine 0.48 for galleries of up to 150 people: on lfw_calib
(149 people enrolled from two photos each), 0 of 1,500 strangers accepted (95 % Wilson bound 0.26 %) at 98.3 % of
genuine stills; cosine 0.47 already admits one. Per tenfold growth beyond 150 people the threshold tightens by
0.055 (cosine 0.54 at N = 2,000): with the real people and all 1,658 other identities of lfw_calib and lfw_dev as a
gallery of 1,807, 0 of the 1,500 held-out strangers pass (cosine 0.53 admits 2). Verification against one card
holder (1:1, N = 1) keeps cosine 0.42. Curves: docs/recognition.md, `edge bench calibrate`."""
SCORE_THRESHOLD = 0.7
"""YuNet's face score below which a detection is dropped."""
NMS_THRESHOLD = 0.3
CHIP = 112
_X = [0, 4, 6, 8, 10, 12]
_Y = [1, 5, 7, 9, 11, 13]


class SFaceBackend:
    name = "sface"
    model_id = SFACE_MODEL_ID
    defaults = SFACE_DEFAULTS
    chip_size = CHIP

    def __init__(self) -> None:
        self._local = threading.local()

    # per-thread OpenCV objects (created on first use, after the model files are checked) -----------------
    def _detector(self) -> Any:
        det = getattr(self._local, "detector", None)
        if det is None:
            single_threaded_opencv()
            det = cv2.FaceDetectorYN.create(str(model_path(YUNET)), "", (320, 320), SCORE_THRESHOLD, NMS_THRESHOLD)
            self._local.detector = det
        return det

    def _net(self) -> Any:
        net = getattr(self._local, "net", None)
        if net is None:
            single_threaded_opencv()
            net = cv2.dnn.readNetFromONNX(str(model_path(SFACE)))
            self._local.net = net
        return net

    # the interface ------------------------------------------------------------------------------------
    def load(self) -> None:
        """Checks both files; loads the detector. The embedding network (~64 MB) loads where embeddings are made
        (the encoder workers), not in the camera process."""
        model_path(SFACE)
        self._detector()

    def detect(
        self, rgb: Image, *, roi: Box | None = None, upsample: int = 0, max_width: int | None = None
    ) -> list[Detection]:
        """`upsample` is HOG's option and is not used: YuNet already finds faces far smaller than the gate needs."""
        h, w = rgb.shape[:2]
        ox = oy = 0
        img = rgb
        if roi is not None:
            left, top, right, bottom = max(0, roi[0]), max(0, roi[1]), min(w, roi[2]), min(h, roi[3])
            if right - left < 20 or bottom - top < 20:
                return []
            img, ox, oy = rgb[top:bottom, left:right], left, top
        # the scale follows the whole frame, so a window around a track sees faces at the same size
        scale = max_width / w if max_width and w > max_width else 1.0
        ih, iw = img.shape[:2]
        if scale != 1.0:
            size = (max(1, round(iw * scale)), max(1, round(ih * scale)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        det = self._detector()
        det.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = det.detect(bgr)
        if faces is None:
            return []
        faces = np.asarray(faces, np.float32).copy()
        faces[:, :14] /= scale
        faces[:, _X] += ox
        faces[:, _Y] += oy
        out = []
        for f in faces:
            x, y, fw, fh = (float(v) for v in f[:4])
            box = (round(x), round(y), round(x + fw), round(y + fh))
            out.append(Detection(box, float(f[14]), f[4:14].reshape(5, 2).copy()))
        return out

    def landmarks(self, rgb: Image, det: Detection) -> Landmarks:
        if det.points is None:
            raise ValueError("an SFace landmark request needs a YuNet detection (with its five points)")
        x0, y0, x1, y1 = det.box
        row = np.concatenate([[x0, y0, x1 - x0, y1 - y0], det.points.reshape(-1), [det.score]]).astype(np.float32)
        # YuNet order: right eye, left eye, nose tip, right and left mouth corners
        return Landmarks(det.points, det.points[:3].copy(), row)

    def align(self, rgb: Image, lm: Landmarks) -> Image:
        m = similarity(np.asarray(lm.points, np.float64), TEMPLATE)
        return cv2.warpAffine(np.ascontiguousarray(rgb), m, (CHIP, CHIP))

    def embed(self, chip: Image, jitters: int = 1) -> Encoding:
        """jitters is dlib's option and is not used here: one pass is deterministic and already steady."""
        blob = cv2.dnn.blobFromImage(np.ascontiguousarray(chip), 1.0, (CHIP, CHIP), (0, 0, 0), False, False)
        net = self._net()
        net.setInput(blob, "data")
        v = np.asarray(net.forward(), np.float32).reshape(-1)
        n = float(np.linalg.norm(v))
        return (v / n if n > 0 else v).astype(np.float32)


def single_threaded_opencv() -> None:
    """One OpenCV thread per process: the budget is CPU-seconds, not one call's wall time. On this 2-core machine
    OpenCV's thread pool spent 12.2 ms of CPU for an 8.0 ms YuNet call on 640x360, single-threaded 8.2 ms for 8.3 ms
    (and ROI windows 4.4 vs 2.5 ms): the pool's extra CPU bought no speed. Cameras and encoder workers are already
    separate threads and processes. Process-wide, set where a backend loads its models."""
    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 least-squares similarity transform (rotation, uniform scale, shift) taking `src` points onto `dst`
    (Umeyama 1991), as OpenCV's alignCrop computes it."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1
    r = u @ np.diag(d) @ vt
    var = (s0**2).sum() / len(src)
    scale = float((sig * d).sum() / var) if var > 0 else 1.0
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]]).astype(np.float64)
