"""Benchmark plumbing: truth scoring (unit), `edge bench match|recognition|accuracy` printing figures for both
backends (no timing asserted), and the bench script naming the data it needs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from edge.bench.truth import Pass, Truth, score
from edge.cli import cli
from tests.helpers import FACES, write_video

TRUTH = Truth(
    30.0, 100, [Pass("ann", 0, 20, 5), Pass(None, 30, 50, 35), Pass("bob", 60, 80, 65), Pass("cat", 85, 99, 90)]
)


def test_score_counts_each_outcome() -> None:
    s = score(TRUTH, [(6, "ann"), (36, None), (40, "ann"), (66, "cat"), (95, None)])
    assert (s.correct, s.wrong_person, s.strangers_admitted, s.missed, s.decided_twice) == (1, 1, 1, 1, 1)
    assert (s.enrolled_passes, s.stranger_passes, s.outside_passes) == (3, 1, 0)
    assert score(TRUTH, [(25, "ann")]).outside_passes == 1


def test_bench_match_prints_timings_for_the_requested_size() -> None:
    res = CliRunner().invoke(cli, ["bench", "match", "--gallery-size", "2000", "--repeats", "20"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["templates"] == 2000 and out["people"] == 400
    assert out["identify_1_encodings_ms"]["p50"] > 0


def test_bench_gate_measures_every_tap_and_reconnect() -> None:
    result = CliRunner().invoke(cli, ["bench", "gate", "--taps", "4", "--replugs", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["missing"] == 0
    assert data["card_to_relay_ms"]["n"] == 4 and data["card_to_mqtt_ms"]["n"] == 4
    assert data["reconnect_after_replug_s"]["n"] == 1
    assert 0 < data["firmware"]["flash_bytes"] <= data["firmware"]["flash_total"]


def _people(root: Path, people: dict[str, list[str]]) -> Path:
    for pid, srcs in people.items():
        (root / pid).mkdir(parents=True)
        for i, src in enumerate(srcs, 1):
            shutil.copy(FACES / src, root / pid / f"{i}.jpg")
    return root


def test_bench_recognition_runs_both_backends_side_by_side(tmp_path: Path) -> None:
    photos = _people(tmp_path / "photos", {"obama": ["obama_1.jpg"], "biden": ["biden_1.jpg"]})
    video = tmp_path / "v.mp4"
    write_video(video, [(None, 2), (FACES / "obama_2.jpg", 10), (None, 14), (FACES / "rose_leslie_1.jpg", 10)])
    args = ["bench", "recognition", "--video", str(video), "--photos", str(photos), "--model", "both"]
    res = CliRunner().invoke(cli, [*args, "--jitters", "1", "--no-paced", "--no-reference"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert list(out["models"]) == ["sface", "dlib"]
    decided = {name: [d["person_id"] for d in core["decisions"]] for name, core in out["models"].items()}
    assert decided["sface"] == ["obama", None]
    # dlib's school-scale threshold (0.38) may turn obama away: it must never name anyone else
    assert decided["dlib"] in (["obama", None], [None, None]), decided
    assert out["models"]["sface"]["decisions"][0]["similarity"] > 0.48 and out["models"]["dlib"]["rule"]["threshold"]
    for name, core in out["models"].items():
        assert core["frames"] == 36 and core["cpu_s_per_video_s"] > 0
        assert core["gallery"]["model"].startswith("sface" if name == "sface" else "dlib")
    assert out["sface_vs_dlib_fps"] > 0


def test_bench_accuracy_runs_the_product_path_and_reports_what_it_rejected(tmp_path: Path) -> None:
    enrolled = _people(
        tmp_path / "enrolled",
        {"obama": ["obama_1.jpg", "two_people.jpg", "obama_2.jpg"], "biden": ["biden_1.jpg"]},
    )
    strangers = _people(tmp_path / "strangers", {"rose": ["rose_leslie_1.jpg"]})
    args = ["bench", "accuracy", "--enrolled", str(enrolled), "--strangers", str(strangers), "--enrol-photos", "2"]
    res = CliRunner().invoke(cli, [*args, "--degrade", "blur-15px", "--degrade", "sunglasses"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)["sface"]
    # enrolment went through the product's checks: the two-person photo was refused and is reported
    (rejected,) = out["enrolment"]["rejected"]
    assert rejected["status"] == "several faces" and rejected["photo"].endswith("obama/2.jpg")
    assert out["enrolment"]["single_template"] == ["biden", "obama"] and out["enrolment"]["without_template"] == []
    assert "rejected at enrolment: several faces" in res.stderr and "one template: obama" in res.stderr
    assert list(out["conditions"]) == ["clean", "blur-15px", "sunglasses"]
    clean = out["conditions"]["clean"]
    assert (clean["correct"], clean["genuine"], clean["wrong_person"]) == (1, 1, 0)
    assert (clean["strangers_accepted"], clean["strangers"]) == (0, 1)
    assert "| sunglasses |" in res.stderr and "| clean | 100.0 % (1/1) | 0 |" in res.stderr
    assert out["rule"]["people"] == 2 and out["curve"][0]["strangers"] == 1


def test_degrade_conditions_change_the_photo_where_they_say(tmp_path: Path) -> None:
    from edge.bench.degrade import CONDITIONS
    from edge.recognition.backend import get_backend
    from edge.recognition.encoder import load_image_rgb
    from edge.recognition.subject import pick_subject

    rgb = load_image_rgb(str(FACES / "obama_1.jpg"))
    subject = pick_subject(get_backend("sface").detect(rgb), rgb.shape)
    assert subject is not None and subject.face.points is not None
    box, pts = subject.face.box, subject.face.points
    eyes = (int(pts[0, 1]), int(pts[0, 0]))
    mouth = (int(pts[3, 1]), int(pts[3, 0]))
    for name, condition in CONDITIONS.items():
        out = condition(rgb, box, pts)
        assert out.dtype == rgb.dtype and out.ndim == 3 and not np.array_equal(out, rgb), name
    assert CONDITIONS["face-40px"](rgb, box, pts).shape[1] < rgb.shape[1]
    assert CONDITIONS["sunglasses"](rgb, box, pts)[eyes].max() < 40  # the eye is behind a dark lens
    masked = CONDITIONS["mask-lower-face"](rgb, box, pts)
    assert tuple(masked[mouth]) == (170, 200, 225) and np.array_equal(masked[eyes], rgb[eyes])


def test_bench_script_says_what_data_it_needs(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "bench_recognition.sh"
    res = subprocess.run([str(script), str(tmp_path / "nowhere")], check=False, capture_output=True, text=True)
    assert res.returncode == 2 and "needs the development data set" in res.stderr
