"""The gallery file: round trip, checksum, model check, vectorised matching, `edge gallery list|remove|verify`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.recognition.decision import DecisionRule
from edge.recognition.gallery import Gallery, GalleryError, Template


def _gallery(rng: np.random.Generator, people: int = 4, per_person: int = 3) -> Gallery:
    g = Gallery()
    for p in range(people):
        pid = f"p{p}"
        g.set_person(
            pid,
            [
                Template(pid, f"{pid}/{i}.jpg", f"{p}{i}", rng.normal(size=128).astype(np.float32))
                for i in range(per_person)
            ],
        )
    return g


def test_person_distances_equal_a_brute_force_loop() -> None:
    rng = np.random.default_rng(3)
    g = _gallery(rng, people=7, per_person=4)
    queries = rng.normal(size=(3, 128)).astype(np.float32)
    fast = g.person_distances(queries)
    for k, q in enumerate(queries):
        for j, person in enumerate(g.people):
            slow = min(float(np.linalg.norm(t.encoding - q)) for t in g.templates_of(person))
            assert fast[k, j] == pytest.approx(slow, rel=1e-4)


def test_identify_fuses_encodings_and_verify_is_one_to_one() -> None:
    rng = np.random.default_rng(4)
    g = _gallery(rng)
    own = g.templates_of("p2")[0].encoding
    near = np.stack([own + 0.01, own - 0.01])
    ident = g.identify(near, DecisionRule(threshold=0.5, margin=0.1))
    assert ident.person_id == "p2" and ident.distance == pytest.approx(0.01 * np.sqrt(128), rel=1e-3)
    assert g.verify("p2", near) == pytest.approx(ident.distance)
    assert g.verify("nobody", near) is None


def test_decisions_use_exact_distances_not_the_fast_expansion() -> None:
    """|a|^2 + |b|^2 - 2ab in float32 loses the small distance next to large norms (here, norms of ~1000);
    the distance the rule compares with the threshold must still be the true one."""
    g = Gallery()
    rng = np.random.default_rng(5)
    for p in range(3):
        enc = (rng.normal(size=128) * 100).astype(np.float32)
        g.set_person(f"p{p}", [Template(f"p{p}", f"p{p}/0.jpg", str(p), enc)])
    own = g.templates_of("p1")[0].encoding
    near = (own + np.float32(0.01)).astype(np.float32)
    true = float(np.linalg.norm(near.astype(np.float64) - own.astype(np.float64)))
    fast = float(g.person_distances(near)[0, 1])
    assert abs(fast - true) > 0.01, "the fast path is expected to be off here (else this test shows nothing)"
    ident = g.identify(near, DecisionRule(threshold=0.5, margin=0.1))
    assert ident.person_id == "p1" and ident.distance == pytest.approx(true, rel=1e-6)
    assert g.verify("p1", near) == pytest.approx(true, rel=1e-6)


def test_round_trip_checksum_and_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    g = _gallery(rng)
    path = tmp_path / "g.npz"
    g.save(path)
    back = Gallery.load(path)
    assert back.people == g.people and len(back) == len(g) == 12
    assert [t.source for t in back.templates] == [t.source for t in g.templates]
    assert np.allclose(np.stack([t.encoding for t in back.templates]), np.stack([t.encoding for t in g.templates]))

    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    tampered = dict(arrays, person_ids=np.array(["EVIL", *list(arrays["person_ids"][1:])]))
    np.savez(path, **tampered)
    with pytest.raises(GalleryError, match="failed its checksum"):
        Gallery.load(path)

    other = Gallery(model="some other encoder")
    other.set_person("a", [Template("a", "a/1.jpg", "x", np.zeros(128, np.float32))])
    other.save(path)
    with pytest.raises(GalleryError, match="was made with some other encoder"):
        Gallery.load(path)
    assert Gallery.load(path, check_model=False).model == "some other encoder"

    with pytest.raises(GalleryError, match="not found"):
        Gallery.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(GalleryError, match="unreadable"):
        Gallery.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "old.npz", meta=np.array('{"format": 1}'))
    with pytest.raises(GalleryError, match="format 1, this version reads 2"):
        Gallery.load(tmp_path / "old.npz")


def test_gallery_cli_list_remove_verify(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    g = _gallery(rng)
    path = tmp_path / "g.npz"
    g.save(path)
    runner = CliRunner()
    listed = runner.invoke(cli, ["gallery", "list", "--gallery", str(path)])
    assert listed.exit_code == 0 and "4 people, 12 templates" in listed.output
    assert "p1\t3\t0.jpg, 1.jpg, 2.jpg" in listed.output

    verified = runner.invoke(cli, ["gallery", "verify", "--gallery", str(path)])
    assert verified.exit_code == 0 and "ok: 12 templates, 4 people" in verified.output
    assert "warning" not in verified.output  # random vectors are far apart

    removed = runner.invoke(cli, ["gallery", "remove", "--gallery", str(path), "p1", "p3"])
    assert removed.exit_code == 0 and "removed 2 people (6 templates); 2 people remain" in removed.output
    assert Gallery.load(path).people == ["p0", "p2"]
    missing = runner.invoke(cli, ["gallery", "remove", "--gallery", str(path), "p9"])
    assert missing.exit_code == 1 and "not in the gallery: p9" in missing.output

    path.write_bytes(path.read_bytes()[:-40])
    broken = runner.invoke(cli, ["gallery", "verify", "--gallery", str(path)])
    assert broken.exit_code == 1 and "error: gallery" in broken.output
