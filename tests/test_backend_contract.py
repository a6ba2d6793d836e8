"""The recognition backend contract, run against both backends (SFace and dlib): what the core, enrolment and
identify rely on. Plus the SFace model files: checked by sha256, a damaged or missing file named with its hash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera.base import Image
from edge.recognition.backend import FaceBackend, backend_for_model_id, get_backend, model_id_of
from edge.recognition.encoder import load_image_rgb
from edge.recognition.model_files import (
    DLIB_RESNET,
    MODEL_FILES,
    SFACE,
    YUNET,
    ModelFileError,
    checked_path,
    fetch,
    models_dir,
)
from tests.helpers import FACES

MODELS = ["sface", "dlib"]


@pytest.fixture(params=MODELS)
def backend(request: pytest.FixtureRequest) -> FaceBackend:
    return get_backend(str(request.param))


def rgb(name: str) -> Image:
    return load_image_rgb(str(FACES / name))


def embed_largest(b: FaceBackend, img: Image) -> np.ndarray:
    face = max(b.detect(img, upsample=1), key=lambda d: d.width)
    return b.embed(b.align(img, b.landmarks(img, face)))


def test_detect_finds_each_face_with_boxes_in_image_pixels(backend: FaceBackend) -> None:
    img = rgb("obama_1.jpg")
    faces = backend.detect(img, upsample=1)
    assert len(faces) == 1
    left, top, right, bottom = faces[0].box
    assert 0 <= left < right <= img.shape[1] and 0 <= top < bottom <= img.shape[0] and faces[0].width >= 64
    assert len(backend.detect(rgb("two_people.jpg"), upsample=1)) == 2
    assert backend.detect(np.full((200, 200, 3), 128, np.uint8)) == []


def test_detection_inside_a_window_reports_whole_image_pixels(backend: FaceBackend) -> None:
    frame = np.full((360, 640, 3), 40, np.uint8)
    photo = rgb("obama_1.jpg")
    frame[0:360, 100:388] = cv2.resize(photo, (288, 360))
    full = backend.detect(frame)
    assert len(full) == 1
    box = full[0].box
    roi = (box[0] - 40, box[1] - 40, box[2] + 40, box[3] + 40)
    inside = backend.detect(frame, roi=roi)
    # HOG scans on an 8 px cell grid, so a window shifts its box by up to one cell; YuNet's moves by a pixel or two
    assert len(inside) == 1 and np.abs(np.subtract(inside[0].box, box)).max() <= (8 if backend.name == "dlib" else 3)


def test_landmarks_align_and_embed_shapes_and_determinism(backend: FaceBackend) -> None:
    img = rgb("obama_2.jpg")
    face = backend.detect(img, upsample=1)[0]
    lm = backend.landmarks(img, face)
    assert lm.points.shape == (5, 2) and lm.frontal.shape == (3, 2)
    x0, y0, x1, y1 = face.box
    w = x1 - x0
    assert all(x0 - w / 2 <= x <= x1 + w / 2 and y0 - w / 2 <= y <= y1 + w / 2 for x, y in lm.points)
    chip = backend.align(img, lm)
    assert chip.shape == (backend.chip_size, backend.chip_size, 3) and chip.dtype == np.uint8
    a, b = backend.embed(chip), backend.embed(chip.copy())
    assert a.shape == (128,) and a.dtype == np.float32 and np.array_equal(a, b)


def test_the_same_person_is_nearer_than_another_and_within_the_models_threshold(backend: FaceBackend) -> None:
    obama_1, obama_2, biden = (embed_largest(backend, rgb(n)) for n in ("obama_1.jpg", "obama_2.jpg", "biden_1.jpg"))
    same, other = float(np.linalg.norm(obama_1 - obama_2)), float(np.linalg.norm(obama_1 - biden))
    assert same < backend.defaults.threshold < other


def test_model_ids_name_the_backend_and_find_it_again(backend: FaceBackend) -> None:
    assert model_id_of(backend.name) == backend.model_id
    assert backend_for_model_id(backend.model_id) is backend
    with pytest.raises(ValueError, match="no backend for model"):
        backend_for_model_id("some other encoder")


def test_sface_embeddings_are_unit_vectors_and_downscaled_detection_keeps_full_size_boxes() -> None:
    b = get_backend("sface")
    img = rgb("obama_1.jpg")
    assert abs(float(np.linalg.norm(embed_largest(b, img))) - 1.0) < 1e-5
    big = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2))
    small_box = np.array(b.detect(img)[0].box)
    big_box = np.array(b.detect(big, max_width=img.shape[1])[0].box)  # detected at half size, reported full size
    assert np.abs(big_box - 2 * small_box).max() <= 6


def test_sface_alignment_is_opencvs_align_crop() -> None:
    """Aligned here (no second copy of the SFace network just to align); must equal FaceRecognizerSF.alignCrop."""
    b = get_backend("sface")
    reference = cv2.FaceRecognizerSF.create(str(models_dir() / SFACE.name), "")
    for name in ("obama_1.jpg", "two_people.jpg", "rose_leslie_1.jpg"):
        img = rgb(name)
        for face in b.detect(img):
            lm = b.landmarks(img, face)
            ours, theirs = b.align(img, lm), reference.alignCrop(img, lm.raw)
            assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1


def test_a_damaged_or_missing_sface_file_is_named_with_its_expected_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge.recognition.sface import SFaceBackend

    for m in MODEL_FILES:
        shutil.copy(models_dir() / m.name, tmp_path / m.name)
    damaged = bytearray((tmp_path / SFACE.name).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / SFACE.name).write_bytes(bytes(damaged))
    monkeypatch.setenv("EDGE_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelFileError) as err:
        SFaceBackend().load()
    assert str(tmp_path / SFACE.name) in str(err.value) and f"expected {SFACE.sha256}" in str(err.value)
    (tmp_path / YUNET.name).unlink()
    with pytest.raises(ModelFileError, match=f"is missing \\(expected sha256 {YUNET.sha256}\\)"):
        SFaceBackend().detect(rgb("obama_1.jpg"))


def test_a_damaged_dlib_file_is_named_with_its_expected_sha256(tmp_path: Path) -> None:
    import face_recognition_models

    copy = tmp_path / DLIB_RESNET.name
    shutil.copy(face_recognition_models.face_recognition_model_location(), copy)
    with copy.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\0\0\0\0")
    with pytest.raises(ModelFileError) as err:
        checked_path(DLIB_RESNET, copy)
    assert str(copy) in str(err.value) and DLIB_RESNET.sha256 in str(err.value)


def test_fetch_keeps_present_files_without_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for m in MODEL_FILES:
        shutil.copy(models_dir() / m.name, tmp_path / m.name)

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("fetch downloaded although the files were present and correct")

    monkeypatch.setattr(subprocess, "run", no_download)
    assert fetch(tmp_path, cache=tmp_path / "cache") == [f"{m.name}: present, sha256 ok" for m in MODEL_FILES]
