"""`edge enroll`: photo checks with reasons, the main face of a photo, the per-person result (nobody left without a
template silently), several templates per person, incremental re-runs, atomic writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.recognition.backend import model_id_of
from edge.recognition.encoder import Detection
from edge.recognition.enroll import (
    EnrolLayoutError,
    EnrolSettings,
    enroll,
    jitters_for,
    judge_photo,
    photos_from_folder,
    photos_from_roster,
)
from edge.recognition.gallery import Gallery, GalleryError
from edge.recognition.subject import COMPETING_RATIO, pick_subject
from tests.helpers import FACES, gallery_key, read_image

FAST = EnrolSettings(jitters=1)


def _key_args(tmp: Path) -> list[str]:
    gallery_key(tmp)
    return ["--key-file", str(tmp / "keys" / "gallery.key")]


def _photos(tmp: Path) -> Path:
    photos = tmp / "photos"
    for pid, srcs in (
        ("obama", ["obama_1.jpg", "obama_2.jpg"]),
        ("biden", ["biden_1.jpg"]),
        ("group", ["two_people.jpg"]),
        ("allen", ["lfw_background_face.jpg"]),
    ):
        (photos / pid).mkdir(parents=True)
        for i, src in enumerate(srcs, 1):
            shutil.copy(FACES / src, photos / pid / f"{i}.jpg")
    obama = read_image(FACES / "obama_1.jpg")
    cv2.imwrite(str(photos / "obama" / "blurred.jpg"), cv2.GaussianBlur(obama, (15, 15), 0))
    cv2.imwrite(str(photos / "obama" / "tiny.jpg"), cv2.resize(obama, (160, 200)))
    cv2.imwrite(str(photos / "obama" / "wall.jpg"), np.full((200, 200, 3), 128, np.uint8))
    (photos / "biden" / "blank.png").write_bytes(b"")
    (photos / "biden" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return photos


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, bytes]:
    """Enrolled with the default backend (SFace: YuNet finds the faces, so the rejects below are its own)."""
    tmp = tmp_path_factory.mktemp("enrol")
    photos = _photos(tmp)
    gallery = tmp / "gallery.npz"
    args = ["enroll", "--gallery", str(gallery), *_key_args(tmp), "--photos", str(photos), "--jitters", "1"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output  # "group" ends with no template
    return gallery, photos, res.output, gallery_key(tmp)


def test_every_reject_is_reported_with_its_reason(enrolled: tuple[Path, Path, str, bytes]) -> None:
    lines = enrolled[2].splitlines()

    def reported(status: str, photo: str, detail: str = "") -> bool:
        return any(line.startswith(status) and photo in line and detail in line for line in lines)

    assert reported("enrolled", "obama/1.jpg") and reported("enrolled", "obama/2.jpg")
    assert reported("enrolled", "biden/1.jpg")
    assert reported("enrolled", "allen/1.jpg", "1 smaller face(s) in the background ignored")
    assert reported("no face", "obama/wall.jpg")
    assert reported("several faces", "group/1.jpg", "2 faces")
    assert reported("face too small", "obama/tiny.jpg", "needs 64px")
    assert reported("blurred", "obama/blurred.jpg", "sharpness")
    assert reported("unreadable", "biden/blank.png", "empty file")
    assert reported("unreadable", "biden/corrupt.jpg", "not a readable image")
    assert "4/10 photos accepted (4 encoded, 0 unchanged, 6 rejected)" in enrolled[2]


def test_the_people_left_without_a_template_or_with_one_are_named_and_the_cli_fails(
    enrolled: tuple[Path, Path, str, bytes],
) -> None:
    lines = enrolled[2].splitlines()
    assert "1 people have NO template: the gate cannot recognise them by face (card only)" in enrolled[2]
    assert [line.split() for line in lines if line.startswith("  no template")] == [
        ["no", "template", "group", "several", "faces"]
    ]
    assert "2 people have only one template" in enrolled[2]
    one = sorted(line.split()[2] for line in lines if line.startswith("  one template"))
    assert one == ["allen", "biden"]
    biden = next(line for line in lines if line.startswith("  one template") and "biden" in line)
    assert "2x unreadable" in biden


def test_a_run_where_everyone_has_a_template_exits_0(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    (photos / "obama").mkdir(parents=True)
    shutil.copy(FACES / "obama_1.jpg", photos / "obama" / "1.jpg")
    args = ["enroll", "--gallery", str(tmp_path / "g.npz"), *_key_args(tmp_path), "--photos", str(photos)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "NO template" not in res.output and "1 people have only one template" in res.output


def _det(left: int, top: int, width: int) -> Detection:
    return Detection((left, top, left + width, top + width), 0.9)


def test_the_main_face_is_the_largest_and_most_central_and_a_comparable_second_face_competes() -> None:
    shape = (250, 250, 3)
    main, small = _det(80, 80, 90), _det(5, 5, 40)
    s = pick_subject([small, main], shape)
    assert s is not None and s.face is main and s.competing == [] and s.background == [small]
    # a bigger face in a corner loses to a central face of similar size, and competes with it
    corner = _det(150, 0, 100)
    s = pick_subject([corner, main], shape)
    assert s is not None and s.face is main and s.competing == [corner]
    # just below the ratio is background, at it competes
    below, at = _det(0, 0, int(90 * COMPETING_RATIO) - 1), _det(0, 160, int(np.ceil(90 * COMPETING_RATIO)))
    s = pick_subject([main, below, at], shape)
    assert s is not None and s.background == [below] and s.competing == [at]
    assert pick_subject([], shape) is None


def test_judge_photo_keeps_a_photo_with_a_small_background_face_and_rejects_a_competing_one() -> None:
    shape = (250, 250, 3)
    main, small, rival = _det(80, 80, 90), _det(5, 5, 30), _det(160, 80, 85)
    status, detail, face = judge_photo([main, small], shape, lambda d: 100.0, FAST, 30.0)
    assert (status, face) == ("enrolled", main) and "background ignored" in detail
    status, detail, face = judge_photo([main, rival], shape, lambda d: 100.0, FAST, 30.0)
    assert status == "several faces" and face is None and "85px" in detail


def test_the_blur_message_never_says_the_value_it_needs() -> None:
    status, detail, face = judge_photo([_det(80, 80, 90)], (250, 250, 3), lambda d: 29.96, FAST, 30.0)
    assert status == "blurred" and face is None
    assert detail == "sharpness 29.9, needs 30 or more"


def test_gallery_holds_several_templates_per_person_and_only_good_ones(enrolled: tuple[Path, Path, str, bytes]) -> None:
    g = Gallery.load(enrolled[0], enrolled[3])
    assert g.people == ["allen", "biden", "obama"]
    assert sorted(t.source for t in g.templates) == ["allen/1.jpg", "biden/1.jpg", "obama/1.jpg", "obama/2.jpg"]
    assert all(len(t.photo_sha256) == 64 for t in g.templates)
    assert g.model == model_id_of("sface") and g.model.startswith("sface_2021dec_int8bq")
    assert all(abs(float(np.linalg.norm(t.encoding)) - 1) < 1e-5 for t in g.templates)


def test_rerun_encodes_only_what_changed(enrolled: tuple[Path, Path, str, bytes], tmp_path: Path) -> None:
    gallery = tmp_path / "g.npz"
    shutil.copy(enrolled[0], gallery)
    photos = enrolled[1]
    before = gallery.stat().st_mtime_ns
    key = enrolled[3]
    report = enroll(gallery, photos_from_folder(photos), FAST, key=key)
    assert not report.changed and gallery.stat().st_mtime_ns == before
    assert sorted(r.status for r in report.results if r.accepted) == ["unchanged"] * 4

    people = photos_from_folder(photos)
    people["obama"] = [p for p in people["obama"] if p.name != "2.jpg"]  # one photo withdrawn
    people["rose"] = [FACES / "rose_leslie_1.jpg"]  # a new person
    report = enroll(gallery, people, FAST, key=key)
    assert report.changed
    assert [r.person_id for r in report.results if r.status == "enrolled"] == ["rose"]
    g = Gallery.load(gallery, key)
    assert g.people == ["allen", "biden", "obama", "rose"]
    assert [t.source for t in g.templates_of("obama")] == ["obama/1.jpg"]


def test_failed_run_leaves_the_previous_gallery_untouched(
    enrolled: tuple[Path, Path, str, bytes], tmp_path: Path
) -> None:
    gallery = tmp_path / "g.npz"
    shutil.copy(enrolled[0], gallery)
    original = gallery.read_bytes()

    class Boom(Exception):
        pass

    def explode(_: object) -> None:
        raise Boom

    people = {"rose": [FACES / "rose_leslie_1.jpg"], "kit": [FACES / "biden_1.jpg"]}
    with pytest.raises(Boom):
        enroll(gallery, people, FAST, key=enrolled[3], on_result=explode)
    assert gallery.read_bytes() == original
    assert list(tmp_path.glob("*.tmp")) == []


def test_enrol_from_roster_photos_column(tmp_path: Path) -> None:
    shutil.copy(FACES / "obama_1.jpg", tmp_path / "o.jpg")
    shutil.copy(FACES / "obama_2.jpg", tmp_path / "o2.jpg")
    roster = tmp_path / "roster.csv"
    roster.write_text("person_id,name,class,card_uid,photos\nobama,Barack Obama,12A,,o.jpg;o2.jpg\nkit,Kit,11C,,\n")
    assert photos_from_roster(roster) == {"obama": [tmp_path / "o.jpg", tmp_path / "o2.jpg"]}
    res = CliRunner().invoke(
        cli, ["enroll", "--gallery", str(tmp_path / "g.npz"), *_key_args(tmp_path), "--roster", str(roster)]
    )
    assert res.exit_code == 0, res.output
    assert len(Gallery.load(tmp_path / "g.npz", gallery_key(tmp_path)).templates_of("obama")) == 2


def test_enroll_needs_exactly_one_source(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["enroll", "--gallery", str(tmp_path / "g.npz"), *_key_args(tmp_path)])
    assert res.exit_code == 2 and "exactly one of --photos DIR or --roster CSV" in res.output
    assert not (tmp_path / "g.npz").exists()


def test_a_flat_photo_folder_says_what_layout_it_needs_and_writes_nothing(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for src in ("obama_1.jpg", "biden_1.jpg"):
        shutil.copy(FACES / src, flat / src)
    gallery = tmp_path / "g.npz"
    res = CliRunner().invoke(cli, ["enroll", "--gallery", str(gallery), *_key_args(tmp_path), "--photos", str(flat)])
    assert res.exit_code == 2, res.output
    assert f"2 photos directly in {flat} and no person folders" in res.output
    assert "expected one folder per person, named by roster person_id" in res.output
    assert "photos accepted" not in res.output and not gallery.exists()
    (flat / "empty").mkdir()
    for f in flat.glob("*.jpg"):
        f.unlink()
    with pytest.raises(EnrolLayoutError, match="no photos under"):
        photos_from_folder(flat)
    with pytest.raises(EnrolLayoutError, match="nothing written"):
        enroll(gallery, {}, FAST, key=gallery_key(tmp_path))
    assert not gallery.exists()


def test_a_gallery_of_another_model_is_refused_not_mixed(
    enrolled: tuple[Path, Path, str, bytes], tmp_path: Path
) -> None:
    gallery = tmp_path / "g.npz"
    shutil.copy(enrolled[0], gallery)
    before = gallery.read_bytes()
    with pytest.raises(GalleryError, match=r"was made with sface_2021dec_int8bq.*this gateway runs dlib_face"):
        enroll(
            gallery, {"rose": [FACES / "rose_leslie_1.jpg"]}, EnrolSettings(jitters=1, model="dlib"), key=enrolled[3]
        )
    assert gallery.read_bytes() == before


@pytest.mark.slow
def test_dlib_backend_still_enrols_with_the_same_checks(tmp_path: Path) -> None:
    photos = _photos(tmp_path)
    report = enroll(
        tmp_path / "g.npz",
        photos_from_folder(photos),
        EnrolSettings(jitters=1, model="dlib"),
        key=gallery_key(tmp_path),
    )
    status = {f"{r.person_id}/{Path(r.photo).name}": r.status for r in report.results}
    assert status == {
        "allen/1.jpg": "enrolled",
        "biden/1.jpg": "enrolled",
        "biden/blank.png": "unreadable",
        "biden/corrupt.jpg": "unreadable",
        "group/1.jpg": "several faces",
        "obama/1.jpg": "enrolled",
        "obama/2.jpg": "enrolled",
        "obama/blurred.jpg": "blurred",
        "obama/tiny.jpg": "face too small",
        "obama/wall.jpg": "no face",
    }
    assert Gallery.load(tmp_path / "g.npz", gallery_key(tmp_path)).model.startswith("dlib_face_recognition_resnet")


def test_jitters_are_dlibs_option_and_refused_for_sface(tmp_path: Path) -> None:
    """SFace computes one deterministic embedding: --jitters would be silently ignored, so it is refused (and
    nothing is written); dlib keeps it, with its default of 10."""
    assert jitters_for("dlib", None) == 10 and jitters_for("dlib", 3) == 3
    assert jitters_for("sface", None) == jitters_for("sface", 1) == 1  # one pass: what SFace does anyway
    with pytest.raises(ValueError, match="dlib's option"):
        jitters_for("sface", 5)
    photos = tmp_path / "photos"
    (photos / "obama").mkdir(parents=True)
    shutil.copy(FACES / "obama_1.jpg", photos / "obama" / "1.jpg")
    gallery = tmp_path / "g.npz"
    args = ["enroll", "--gallery", str(gallery), *_key_args(tmp_path), "--photos", str(photos)]
    res = CliRunner().invoke(cli, [*args, "--jitters", "5"])
    assert res.exit_code != 0 and "--jitters is dlib's option" in res.output and not gallery.exists()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert Gallery.load(gallery, gallery_key(tmp_path)).jitters == 1  # what SFace did, not a dlib default
