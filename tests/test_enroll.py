"""`edge enroll`: photo checks with reasons, several templates per person, incremental re-runs, atomic writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder, photos_from_roster
from edge.recognition.gallery import Gallery
from tests.helpers import FACES

FAST = EnrolSettings(jitters=1)


def _photos(tmp: Path) -> Path:
    photos = tmp / "photos"
    for pid, srcs in (
        ("obama", ["obama_1.jpg", "obama_2.jpg"]),
        ("biden", ["biden_1.jpg"]),
        ("group", ["two_people.jpg"]),
    ):
        (photos / pid).mkdir(parents=True)
        for i, src in enumerate(srcs, 1):
            shutil.copy(FACES / src, photos / pid / f"{i}.jpg")
    obama = cv2.imread(str(FACES / "obama_1.jpg"))
    cv2.imwrite(str(photos / "obama" / "blurred.jpg"), cv2.GaussianBlur(obama, (15, 15), 0))
    cv2.imwrite(str(photos / "obama" / "tiny.jpg"), cv2.resize(obama, (160, 200)))
    cv2.imwrite(str(photos / "obama" / "wall.jpg"), np.full((200, 200, 3), 128, np.uint8))
    (photos / "biden" / "blank.png").write_bytes(b"")
    (photos / "biden" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return photos


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    tmp = tmp_path_factory.mktemp("enrol")
    photos = _photos(tmp)
    gallery = tmp / "gallery.npz"
    res = CliRunner().invoke(cli, ["enroll", "--gallery", str(gallery), "--photos", str(photos), "--jitters", "1"])
    assert res.exit_code == 0, res.output
    return gallery, photos, res.output


def test_every_reject_is_reported_with_its_reason(enrolled: tuple[Path, Path, str]) -> None:
    lines = enrolled[2].splitlines()

    def reported(status: str, photo: str, detail: str = "") -> bool:
        return any(line.startswith(status) and photo in line and detail in line for line in lines)

    assert reported("enrolled", "obama/1.jpg") and reported("enrolled", "obama/2.jpg")
    assert reported("enrolled", "biden/1.jpg")
    assert reported("no face", "obama/wall.jpg")
    assert reported("several faces", "group/1.jpg", "2 faces")
    assert reported("face too small", "obama/tiny.jpg", "needs 64px")
    assert reported("blurred", "obama/blurred.jpg", "sharpness")
    assert reported("unreadable", "biden/blank.png", "empty file")
    assert reported("unreadable", "biden/corrupt.jpg", "not a readable image")
    assert "3/9 photos accepted (3 encoded, 0 unchanged, 6 rejected)" in enrolled[2]


def test_gallery_holds_several_templates_per_person_and_only_good_ones(enrolled: tuple[Path, Path, str]) -> None:
    g = Gallery.load(enrolled[0])
    assert g.people == ["biden", "obama"]
    assert sorted(t.source for t in g.templates) == ["biden/1.jpg", "obama/1.jpg", "obama/2.jpg"]
    assert all(len(t.photo_sha256) == 64 for t in g.templates)
    assert g.meta()["model"].startswith("dlib_face_recognition_resnet_model_v1")


def test_rerun_encodes_only_what_changed(enrolled: tuple[Path, Path, str], tmp_path: Path) -> None:
    gallery = tmp_path / "g.npz"
    shutil.copy(enrolled[0], gallery)
    photos = enrolled[1]
    before = gallery.stat().st_mtime_ns
    report = enroll(gallery, photos_from_folder(photos), FAST)
    assert not report.changed and gallery.stat().st_mtime_ns == before
    assert sorted(r.status for r in report.results if r.accepted) == ["unchanged"] * 3

    people = photos_from_folder(photos)
    people["obama"] = [p for p in people["obama"] if p.name != "2.jpg"]  # one photo withdrawn
    people["rose"] = [FACES / "rose_leslie_1.jpg"]  # a new person
    report = enroll(gallery, people, FAST)
    assert report.changed
    assert [r.person_id for r in report.results if r.status == "enrolled"] == ["rose"]
    g = Gallery.load(gallery)
    assert g.people == ["biden", "obama", "rose"]
    assert [t.source for t in g.templates_of("obama")] == ["obama/1.jpg"]


def test_failed_run_leaves_the_previous_gallery_untouched(enrolled: tuple[Path, Path, str], tmp_path: Path) -> None:
    gallery = tmp_path / "g.npz"
    shutil.copy(enrolled[0], gallery)
    original = gallery.read_bytes()

    class Boom(Exception):
        pass

    def explode(_: object) -> None:
        raise Boom

    people = {"rose": [FACES / "rose_leslie_1.jpg"], "kit": [FACES / "biden_2.jpg"]}
    with pytest.raises(Boom):
        enroll(gallery, people, FAST, on_result=explode)
    assert gallery.read_bytes() == original
    assert list(tmp_path.glob("*.tmp")) == []


def test_enrol_from_roster_photos_column(tmp_path: Path) -> None:
    shutil.copy(FACES / "obama_1.jpg", tmp_path / "o.jpg")
    shutil.copy(FACES / "obama_2.jpg", tmp_path / "o2.jpg")
    roster = tmp_path / "roster.csv"
    roster.write_text("person_id,name,class,card_uid,photos\nobama,Barack Obama,12A,,o.jpg;o2.jpg\nkit,Kit,11C,,\n")
    assert photos_from_roster(roster) == {"obama": [tmp_path / "o.jpg", tmp_path / "o2.jpg"]}
    res = CliRunner().invoke(
        cli, ["enroll", "--gallery", str(tmp_path / "g.npz"), "--roster", str(roster), "--jitters", "1"]
    )
    assert res.exit_code == 0, res.output
    assert len(Gallery.load(tmp_path / "g.npz").templates_of("obama")) == 2


def test_enroll_needs_exactly_one_source(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["enroll", "--gallery", str(tmp_path / "g.npz")])
    assert res.exit_code == 2 and "exactly one of --photos DIR or --roster CSV" in res.output
    assert not (tmp_path / "g.npz").exists()
