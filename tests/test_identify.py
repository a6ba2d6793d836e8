"""`edge identify` on real photos: the gateway's own open-set rule, one JSON line per image."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder
from tests.helpers import FACES


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("identify")
    for pid, src in (("obama", "obama_1.jpg"), ("biden", "biden_1.jpg")):
        (tmp / "photos" / pid).mkdir(parents=True)
        shutil.copy(FACES / src, tmp / "photos" / pid / "1.jpg")
    enroll(tmp / "g.npz", photos_from_folder(tmp / "photos"), EnrolSettings(jitters=1))
    return tmp / "g.npz"


def test_identify_prints_one_json_line_per_image(gallery: Path) -> None:
    images = [str(FACES / "obama_2.jpg"), str(FACES / "biden_2.jpg"), str(FACES / "rose_leslie_1.jpg")]
    res = CliRunner().invoke(cli, ["identify", "--gallery", str(gallery), *images])
    assert res.exit_code == 0, res.output
    out = [json.loads(line) for line in res.output.splitlines()]
    assert [o["image"] for o in out] == images
    assert [o["person_id"] for o in out] == ["obama", "biden", None]
    assert [o["reason"] for o in out] == ["match", "match", "too far"]
    assert 0 < out[0]["distance"] < 0.48 and 0 < out[1]["distance"] < 0.48
    assert out[2]["distance"] > 0.48 and out[2]["nearest"] in ("obama", "biden")
    assert out[0]["margin"] >= 0.08


def test_identify_uses_the_threshold_it_is_given(gallery: Path) -> None:
    res = CliRunner().invoke(
        cli, ["identify", "--gallery", str(gallery), "--threshold", "0.2", str(FACES / "obama_2.jpg")]
    )
    out = json.loads(res.output)
    assert out["person_id"] is None and out["nearest"] == "obama" and out["reason"] == "too far"


def test_unreadable_image_is_reported_and_others_still_answered(gallery: Path, tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    res = CliRunner().invoke(cli, ["identify", "--gallery", str(gallery), str(bad), str(FACES / "obama_2.jpg")])
    assert res.exit_code == 1
    assert "corrupt.jpg: not a readable image" in res.stderr
    assert json.loads(res.stdout.splitlines()[-1])["person_id"] == "obama"


def test_missing_gallery_is_a_clear_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["identify", "--gallery", str(tmp_path / "none.npz"), str(FACES / "obama_2.jpg")])
    assert res.exit_code == 2 and "run 'edge enroll" in res.output
