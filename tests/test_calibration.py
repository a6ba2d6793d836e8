"""`edge bench calibrate`: the cache holds what the product computes (same faces, same embeddings, same enrolment
decisions when replayed), and the statistics it prints behave (interval, growth with N, the fitted rule)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edge.bench import calib_cache
from edge.bench.calibration import Calibration, calibration, fit_rule, miss_all, stranger_curve, wilson
from edge.cli import cli
from edge.recognition.encoder import Detection
from edge.recognition.enroll import EnrolSettings, enroll, judge_photo, photos_from_folder
from tests.helpers import FACES


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calib")
    for set_name, people in (
        ("enrolled", {"obama": ["obama_1.jpg", "two_people.jpg", "obama_2.jpg"], "biden": ["biden_1.jpg"]}),
        ("strangers", {"rose": ["rose_leslie_1.jpg"], "allen": ["lfw_background_face.jpg"]}),
    ):
        for pid, srcs in people.items():
            (root / set_name / pid).mkdir(parents=True)
            for i, src in enumerate(srcs, 1):
                shutil.copy(FACES / src, root / set_name / pid / f"{i}.jpg")
    return root


def test_the_cache_replays_the_products_enrolment_exactly(data: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.npz"
    calib_cache.build(data, "sface", cache)
    photos = {p.photo: p for p in calib_cache.load(cache)}
    assert len(photos) == 6 and len(photos["enrolled/obama/2.jpg"].faces) == 2
    settings = EnrolSettings(jitters=1)
    report = enroll(tmp_path / "g.npz", photos_from_folder(data / "enrolled"), settings, key=os.urandom(32))
    for r in report.results:
        cached = photos["enrolled/" + "/".join(Path(r.photo).parts[-2:])]
        sharp = {id(f.det): f.sharp for f in cached.faces}

        def sharpness_of(d: Detection, sharp: dict[int, float] = sharp) -> float:
            return sharp[id(d)]

        status, _, face = judge_photo([f.det for f in cached.faces], cached.shape, sharpness_of, settings, 30)
        assert status == r.status, r
        template = next((t for t in report.gallery.templates if r.photo.endswith(t.source)), None)
        if face is None:
            assert template is None
        else:
            assert template is not None
            emb = next(f.emb for f in cached.faces if f.det is face)
            assert np.allclose(emb, template.encoding, atol=1e-5)  # the very embedding the gallery holds


def test_statistics_behave() -> None:
    lo, hi = wilson(0, 1500)
    assert lo == pytest.approx(0, abs=1e-12) and 0.0024 < hi < 0.0027  # close to the rule of three, 3/1500
    assert wilson(15, 1500)[0] < 0.01 < wilson(15, 1500)[1]
    assert miss_all(1000, 0, 5000) == 1.0 and miss_all(1000, 5, 0) == 1.0
    assert miss_all(1000, 5, 100) > miss_all(1000, 5, 1000) > miss_all(1000, 5, 5000)  # more children, more risk
    # one stranger close to one of the two other pool identities: the rate grows with N, tightening removes it
    e = np.eye(4, dtype=np.float32)
    near = (e[0] + 0.3 * e[1]) / np.linalg.norm(e[0] + 0.3 * e[1])
    pool = [("s", near[None, :]), ("a", e[0][None, :]), ("b", e[2][None, :])]  # the stranger's own is skipped
    c = Calibration(["p"], [e[3][None, :]], [], [("p", e[3])], [("s", near)], pool)
    rows = stranger_curve(c, [0.5, 0.99], [1, 2, 3, 10])
    at = {(r["cosine"], r["n"]): r["rate"] for r in rows}
    assert at[(0.5, 1)] == 0 and at[(0.5, 2)] == 0.5 and at[(0.5, 3)] == 1.0  # N = 1 and 3 (all) are counted
    assert at[(0.5, 2)] < at[(0.5, 10)] < 1.0  # modelled: 1 - (1 - 1/2)^9
    assert all(at[(0.99, n)] == 0 for n in (1, 2, 3, 10))
    by_n, _, b = fit_rule(rows, 0.001, 1)
    assert by_n[1] == 0.5 and by_n[10] == 0.99 and b > 0


def test_bench_calibrate_prints_the_curves(data: Path, tmp_path: Path) -> None:
    args = ["bench", "calibrate", "--data", str(data), "--cache-dir", str(tmp_path), "--enrol-photos", "1"]
    res = CliRunner().invoke(cli, [*args, "--size", "10"])
    assert res.exit_code == 0, res.output
    assert "Stranger-accept rate" in res.stderr and "| cosine | distance |" in res.stderr
    assert "Default rule's threshold (cosine) per N: 2: 0.48" in res.stderr
    assert len(list(tmp_path.glob(f"{data.name}-sface-*.npz"))) == 1  # encoded once, reused next time


def test_the_calibration_matches_templates_as_the_gallery_does(data: Path, tmp_path: Path) -> None:
    """The curves must score what the product scores: SFace galleries match each person's centroid
    (gallery.fuse_templates), so the calibration's per-person vectors give the gallery's own distances."""
    cache = tmp_path / "c.npz"
    calib_cache.build(data, "sface", cache)
    settings = EnrolSettings(jitters=1)
    report = enroll(tmp_path / "g.npz", photos_from_folder(data / "enrolled"), settings, key=os.urandom(32))
    g = report.gallery
    assert g.fusion == "centroid" and len(g.templates_of("obama")) >= 2
    c = calibration(calib_cache.load(cache), [], 3, settings, 30, g.fusion)
    assert len(c.templates[c.people.index("obama")]) == 1  # several photos, one centroid
    for _, probe in c.strangers:
        for person, vectors in zip(c.people, c.templates, strict=True):
            nearest = min(float(np.linalg.norm(v.astype(np.float64) - probe)) for v in vectors)
            assert g.verify(person, probe) == pytest.approx(nearest, rel=1e-5)
    nearest_c = calibration(calib_cache.load(cache), [], 3, settings, 30, "nearest")
    assert len(nearest_c.templates[nearest_c.people.index("obama")]) == len(g.templates_of("obama"))
