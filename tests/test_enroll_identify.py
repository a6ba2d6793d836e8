"""`edge enroll` and `edge identify` on real photos, through the CLI, plus gallery round trip and checksum."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.recognition.gallery import Gallery, GalleryError
from tests.helpers import FACES


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("enrol")
    photos = tmp / "photos"
    for pid, src in (("obama", "obama_1.jpg"), ("biden", "biden_1.jpg"), ("group", "two_people.jpg")):
        (photos / pid).mkdir(parents=True)
        shutil.copy(FACES / src, photos / pid / "1.jpg")
    (photos / "biden" / "blank.png").write_bytes(b"")  # zero-byte file
    import cv2

    cv2.imwrite(str(photos / "obama" / "wall.jpg"), np.full((200, 200, 3), 128, np.uint8))
    gallery = tmp / "gallery.npz"
    res = CliRunner().invoke(cli, ["enroll", "--gallery", str(gallery), "--photos", str(photos)])
    assert res.exit_code == 0, res.output
    return gallery, res.output


def test_enroll_reports_each_photo(enrolled: tuple[Path, str]) -> None:
    lines = enrolled[1].splitlines()

    def reported(status: str, photo: str) -> bool:
        return any(line.startswith(status) and photo in line for line in lines)

    assert reported("enrolled", "obama/1.jpg") and reported("enrolled", "biden/1.jpg")
    assert reported("no face", "obama/wall.jpg")
    assert reported("several faces", "group/1.jpg")
    assert reported("unreadable", "biden/blank.png")
    assert "2/5 photos enrolled" in enrolled[1]


def test_gallery_holds_only_good_templates(enrolled: tuple[Path, str]) -> None:
    g = Gallery.load(enrolled[0])
    assert g.people == ["biden", "obama"]
    assert g.encodings.shape == (2, 128)
    assert sorted(g.sources) == ["biden/1.jpg", "obama/1.jpg"]


def test_identify_prints_one_json_line_per_image(enrolled: tuple[Path, str]) -> None:
    images = [str(FACES / "obama_2.jpg"), str(FACES / "biden_2.jpg"), str(FACES / "rose_leslie_1.jpg")]
    res = CliRunner().invoke(cli, ["identify", "--gallery", str(enrolled[0]), *images])
    assert res.exit_code == 0, res.output
    out = [json.loads(line) for line in res.output.splitlines()]
    assert [o["image"] for o in out] == images
    assert [o["person_id"] for o in out] == ["obama", "biden", None]
    assert 0 < out[0]["distance"] < 0.5 and 0 < out[1]["distance"] < 0.5
    assert out[2]["distance"] is None
    assert set(out[0]) == {"image", "person_id", "distance"}


def test_identify_unreadable_image_still_prints_a_line(enrolled: tuple[Path, str], tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    res = CliRunner().invoke(cli, ["identify", "--gallery", str(enrolled[0]), str(bad)])
    assert res.exit_code == 1
    assert json.loads(res.stdout.splitlines()[-1]) == {"image": str(bad), "person_id": None, "distance": None}


def test_gallery_round_trip_and_checksum(tmp_path: Path) -> None:
    g = Gallery()
    rng = np.random.default_rng(1)
    g.replace_person("a", list(rng.normal(size=(2, 128))), ["a/1.jpg", "a/2.jpg"])
    g.replace_person("b", list(rng.normal(size=(1, 128))), ["b/1.jpg"])
    g.replace_person("a", list(rng.normal(size=(1, 128))), ["a/3.jpg"])
    path = tmp_path / "g.npz"
    g.save(path)
    back = Gallery.load(path)
    assert back.person_ids == ["b", "a"] and back.sources == ["b/1.jpg", "a/3.jpg"]
    assert np.allclose(back.encodings, g.encodings)
    m = back.match(back.encodings[1].astype(np.float64), 0.5)
    assert m.person_id == "a" and m.distance == pytest.approx(0.0, abs=1e-6)
    assert back.match(np.full(128, 9.0), 0.5).person_id is None

    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["person_ids"] = np.array(["b", "EVIL"])
    np.savez(path, **arrays)
    with pytest.raises(GalleryError, match="failed its checksum"):
        Gallery.load(path)
    with pytest.raises(GalleryError, match="not found"):
        Gallery.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(GalleryError, match="unreadable"):
        Gallery.load(tmp_path / "junk.npz")
