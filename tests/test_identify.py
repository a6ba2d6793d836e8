"""`edge identify` on real photos: the gateway's own open-set rule, one JSON line per image."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner, Result

from edge.cli import cli
from edge.recognition.decision import DecisionRule
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder
from edge.recognition.scores import similarity
from tests.helpers import FACES, gallery_key, read_image

SFACE = DecisionRule.for_model("sface")


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("identify")
    for pid, src in (("obama", "obama_1.jpg"), ("biden", "biden_1.jpg")):
        (tmp / "photos" / pid).mkdir(parents=True)
        shutil.copy(FACES / src, tmp / "photos" / pid / "1.jpg")
    enroll(tmp / "g.npz", photos_from_folder(tmp / "photos"), EnrolSettings(jitters=1), key=gallery_key(tmp))
    return tmp / "g.npz"


def identify(gallery: Path, *args: str) -> Result:
    key = gallery.parent / "keys" / "gallery.key"
    return CliRunner().invoke(cli, ["identify", "--gallery", str(gallery), "--key-file", str(key), *args])


def test_identify_prints_one_json_line_per_image(gallery: Path) -> None:
    images = [str(FACES / "obama_2.jpg"), str(FACES / "biden_2.jpg"), str(FACES / "rose_leslie_1.jpg")]
    res = identify(gallery, *images)
    assert res.exit_code == 0, res.output
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["image"] for o in out] == images
    assert [o["person_id"] for o in out] == ["obama", "biden", None]
    assert [o["reason"] for o in out] == ["match", "match", "too far"]
    assert [o["faces"] for o in out] == [1, 2, 1]  # biden_2.jpg has a half-hidden second face at its edge
    # SFace's score is a cosine similarity (higher is closer), never labelled a distance
    at_threshold = similarity(SFACE.threshold_for(2))
    assert all("distance" not in o for o in out)
    assert 1 > out[0]["similarity"] > at_threshold and 1 > out[1]["similarity"] > at_threshold
    assert out[2]["similarity"] < at_threshold and out[2]["nearest"] in ("obama", "biden")
    assert out[0]["margin"] >= SFACE.margin and out[0]["threshold"] == round(at_threshold, 4)


def test_a_three_face_photo_counts_three_faces_and_decides_the_main_one(gallery: Path, tmp_path: Path) -> None:
    tiles = []
    for src, height in (("rose_leslie_1.jpg", 200), ("obama_2.jpg", 300), ("biden_1.jpg", 220)):
        img = read_image(FACES / src)
        tiles.append(cv2.resize(img, (img.shape[1] * height // img.shape[0], height)))
    canvas = np.full((320, sum(t.shape[1] for t in tiles) + 40, 3), 60, np.uint8)
    x = 10
    for t in tiles:
        canvas[10 : 10 + t.shape[0], x : x + t.shape[1]] = t
        x += t.shape[1] + 10
    cv2.imwrite(str(tmp_path / "three.jpg"), canvas)
    out = json.loads(identify(gallery, str(tmp_path / "three.jpg")).stdout)
    assert out["faces"] == 3
    assert out["person_id"] == "obama"  # the largest and most central face


def test_identify_uses_the_threshold_it_is_given(gallery: Path) -> None:
    res = identify(gallery, "--threshold", "0.2", str(FACES / "obama_2.jpg"))
    out = json.loads(res.stdout)
    assert out["person_id"] is None and out["nearest"] == "obama" and out["reason"] == "too far"


def test_unreadable_image_is_reported_and_others_still_answered(gallery: Path, tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    res = identify(gallery, str(bad), str(FACES / "obama_2.jpg"))
    assert res.exit_code == 1
    assert "corrupt.jpg: not a readable image" in res.stderr
    assert json.loads(res.stdout.splitlines()[-1])["person_id"] == "obama"


def test_missing_gallery_or_wrong_key_is_a_clear_error(gallery: Path, tmp_path: Path) -> None:
    gallery_key(tmp_path)
    res = identify(tmp_path / "none.npz", str(FACES / "obama_2.jpg"))
    assert res.exit_code == 2 and "run 'edge enroll" in res.output
    wrong = tmp_path / "keys" / "gallery.key"
    args = ["identify", "--gallery", str(gallery), "--key-file", str(wrong), str(FACES / "obama_2.jpg")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and f"gallery {gallery} cannot be opened: authentication failed" in res.output
    assert "Traceback" not in res.output


@pytest.mark.slow
def test_identify_with_a_dlib_gallery_uses_dlib_and_its_rule(tmp_path: Path) -> None:
    (tmp_path / "photos" / "obama").mkdir(parents=True)
    shutil.copy(FACES / "obama_1.jpg", tmp_path / "photos" / "obama" / "1.jpg")
    settings = EnrolSettings(jitters=1, model="dlib")
    enroll(tmp_path / "g.npz", photos_from_folder(tmp_path / "photos"), settings, key=gallery_key(tmp_path))
    # dlib's school-scale default (0.38) turns most genuine faces away: its pre-calibration 0.5 shows the path
    out = json.loads(identify(tmp_path / "g.npz", "--threshold", "0.5", str(FACES / "obama_2.jpg")).stdout)
    assert out["person_id"] == "obama" and out["distance"] < 0.5 and out["threshold"] == 0.5  # a distance, as is
    assert "similarity" not in out  # dlib's number is a distance
