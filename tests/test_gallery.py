"""The gallery file: sealed round trip, wrong key / tampering, model check, vectorised matching, the CLI, keys."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.recognition.backend import Fusion, model_id_of
from edge.recognition.decision import DecisionRule
from edge.recognition.gallery import Gallery, GalleryError, Template, fuse_templates
from edge.security.sealed import new_key_file, read_key_file, seal
from tests.helpers import gallery_key


def _gallery(
    rng: np.random.Generator, people: int = 4, per_person: int = 3, fusion: Fusion | None = "nearest"
) -> Gallery:
    g = Gallery(fusion=fusion)
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


def _unit(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def test_sface_galleries_match_the_centroid_dlib_ones_the_nearest_template() -> None:
    """The fusion follows the model that made the gallery (ModelDefaults.template_fusion), also after a load."""
    assert Gallery(model=model_id_of("sface")).fusion == "centroid"
    assert Gallery(model=model_id_of("dlib")).fusion == "nearest"
    assert Gallery(model="some future model").fusion == "nearest"


def test_centroid_distances_equal_a_brute_force_loop_over_mean_directions() -> None:
    rng = np.random.default_rng(8)
    g = Gallery(fusion="centroid")
    for p in range(6):
        g.set_person(
            f"p{p}",
            [Template(f"p{p}", f"p{p}/{i}.jpg", f"{p}{i}", _unit(rng.normal(size=128))) for i in range(1 + p % 3)],
        )
    queries = np.stack([_unit(rng.normal(size=128)) for _ in range(3)])
    fast = g.person_distances(queries)
    for k, q in enumerate(queries):
        for j, person in enumerate(g.people):
            mean = np.mean([t.encoding.astype(np.float64) for t in g.templates_of(person)], axis=0)
            slow = float(np.linalg.norm(mean / np.linalg.norm(mean) - q))
            assert fast[k, j] == pytest.approx(slow, rel=1e-4)
            assert g.verify(person, q) == pytest.approx(slow, rel=1e-6)


def test_a_face_between_two_photos_is_nearer_the_centroid_than_either_photo() -> None:
    """Why SFace matches centroids: two photos of a person scatter around their face; a new photo near that face
    is farther from each photo than from their mean direction. One template is its own centroid."""
    rng = np.random.default_rng(9)
    face = _unit(rng.normal(size=128))
    photos = [_unit(face + 0.6 * _unit(rng.normal(size=128))) for _ in range(2)]
    probe = _unit(face + 0.3 * _unit(rng.normal(size=128)))
    t = [Template("p", f"p/{i}.jpg", str(i), e) for i, e in enumerate(photos)]
    nearest, centroid = Gallery(fusion="nearest", _templates=list(t)), Gallery(fusion="centroid", _templates=list(t))
    assert centroid.verify("p", probe) < nearest.verify("p", probe)  # type: ignore[operator]
    np.testing.assert_allclose(fuse_templates(photos[0][None, :], "centroid"), photos[0][None, :].astype(np.float64))
    one = Gallery(fusion="centroid", _templates=t[:1])
    assert one.verify("p", probe) == pytest.approx(float(np.linalg.norm(photos[0].astype(np.float64) - probe)))
    assert nearest.with_fusion("centroid").verify("p", probe) == pytest.approx(centroid.verify("p", probe))


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
    g = Gallery(fusion="nearest")
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
    path, key = tmp_path / "g.npz", gallery_key(tmp_path)
    g.save(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = Gallery.load(path, key, model=g.model)
    assert back.people == g.people and len(back) == len(g) == 12
    assert [t.source for t in back.templates] == [t.source for t in g.templates]
    assert np.allclose(np.stack([t.encoding for t in back.templates]), np.stack([t.encoding for t in g.templates]))
    assert b"p1/0.jpg" not in path.read_bytes()  # the contents are encrypted, only the header is clear

    other = Gallery(model="some other encoder")
    other.set_person("a", [Template("a", "a/1.jpg", "x", np.zeros(128, np.float32))])
    other.save(path, key)
    with pytest.raises(GalleryError, match="was made with some other encoder, this gateway runs sface"):
        Gallery.load(path, key, model=model_id_of("sface"))
    assert Gallery.load(path, key).model == "some other encoder"

    with pytest.raises(GalleryError, match="not found"):
        Gallery.load(tmp_path / "none.npz", key)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(GalleryError, match=r"junk\.npz is not an encrypted gallery"):
        Gallery.load(tmp_path / "junk.npz", key)
    np.savez(tmp_path / "old.npz", meta=np.array('{"format": 2}'))  # an unencrypted gallery of the previous format
    with pytest.raises(GalleryError, match=r"old\.npz is not an encrypted gallery"):
        Gallery.load(tmp_path / "old.npz", key)
    (tmp_path / "fmt.npz").write_bytes(seal(key, b"x", json.dumps({"kind": "edge-gallery", "format": 2}).encode()))
    with pytest.raises(GalleryError, match="has format 2, this version reads 3"):
        Gallery.load(tmp_path / "fmt.npz", key)


def test_wrong_key_or_any_altered_byte_is_a_clear_error(tmp_path: Path) -> None:
    g = _gallery(np.random.default_rng(6), people=2, per_person=1)
    path, key = tmp_path / "g.npz", gallery_key(tmp_path)
    g.save(path, key)
    with pytest.raises(GalleryError, match=r"g\.npz cannot be opened: authentication failed: wrong key"):
        Gallery.load(path, bytes(32))
    blob = path.read_bytes()
    header_end = blob.index(b"}") + 1
    for at in (20, header_end - 3, header_end + 5, len(blob) // 2, len(blob) - 1):  # header, nonce, body, tag
        damaged = bytearray(blob)
        damaged[at] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(GalleryError, match=r"g\.npz"):
            Gallery.load(path, key)
    path.write_bytes(blob[:-40])
    with pytest.raises(GalleryError, match=r"g\.npz cannot be opened"):
        Gallery.load(path, key)


def test_gallery_cli_list_remove_verify(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    g = _gallery(rng)
    path, key = tmp_path / "g.npz", gallery_key(tmp_path)
    g.save(path, key)
    k = ["--key-file", str(tmp_path / "keys" / "gallery.key")]
    runner = CliRunner()
    listed = runner.invoke(cli, ["gallery", "list", "--gallery", str(path), *k])
    assert listed.exit_code == 0 and "4 people, 12 templates" in listed.output
    assert "p1\t3\t0.jpg, 1.jpg, 2.jpg" in listed.output

    verified = runner.invoke(cli, ["gallery", "verify", "--gallery", str(path), *k])
    assert verified.exit_code == 0 and "ok: 12 templates, 4 people" in verified.output
    assert "warning" not in verified.output  # random vectors are far apart
    dlib = runner.invoke(cli, ["gallery", "verify", "--gallery", str(path), *k, "--model", "dlib"])
    assert dlib.exit_code == 1 and "was made with sface" in dlib.output

    removed = runner.invoke(cli, ["gallery", "remove", "--gallery", str(path), *k, "p1", "p3"])
    assert removed.exit_code == 0 and "removed 2 people (6 templates); 2 people remain" in removed.output
    assert Gallery.load(path, key).people == ["p0", "p2"]
    missing = runner.invoke(cli, ["gallery", "remove", "--gallery", str(path), *k, "p9"])
    assert missing.exit_code == 1 and "not in the gallery: p9" in missing.output

    path.write_bytes(path.read_bytes()[:-40])
    broken = runner.invoke(cli, ["gallery", "verify", "--gallery", str(path), *k])
    assert broken.exit_code == 1 and "error: gallery" in broken.output and "Traceback" not in broken.output


def test_keygen_makes_a_private_key_and_bad_keys_are_refused_by_name(tmp_path: Path) -> None:
    runner = CliRunner()
    key_file = tmp_path / "secrets" / "gallery.key"
    made = runner.invoke(cli, ["gallery", "keygen", "--key-file", str(key_file)])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert len(read_key_file(key_file)) == 32
    again = runner.invoke(cli, ["gallery", "keygen", "--key-file", str(key_file)])
    assert again.exit_code == 2 and "already exists" in again.output
    g = tmp_path / "g.npz"
    _gallery(np.random.default_rng(1)).save(g, read_key_file(key_file))

    def listing(key: Path) -> tuple[int, str]:
        res = runner.invoke(cli, ["gallery", "list", "--gallery", str(g), "--key-file", str(key)])
        return res.exit_code, res.output

    other = tmp_path / "other.key"
    new_key_file(other)
    code, out = listing(other)
    assert code == 2 and f"gallery {g} cannot be opened: authentication failed: wrong key" in out
    code, out = listing(tmp_path / "lost.key")
    assert code == 2 and f"key file {tmp_path / 'lost.key'} not found" in out
    os.chmod(other, 0o644)
    code, out = listing(other)
    assert code == 2 and "readable by others (mode 0o644)" in out
    (tmp_path / "bad.key").write_text("not hex")
    os.chmod(tmp_path / "bad.key", 0o600)
    code, out = listing(tmp_path / "bad.key")
    assert code == 2 and "does not hold a key" in out


def test_key_from_a_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edge.config.model import GalleryConfig, RecognitionConfig
    from edge.recognition.gallery_key import open_gallery

    creds = tmp_path / "creds"
    new_key_file(creds / "gallery-key")
    os.chmod(creds / "gallery-key", 0o440)  # systemd's own mode for credentials: accepted there
    g = _gallery(np.random.default_rng(1))
    g.save(tmp_path / "g.npz", read_key_file(creds / "gallery-key", check_mode=False))
    gc = GalleryConfig(path=str(tmp_path / "g.npz"), key_file="/nonexistent", key_credential="gallery-key")
    with pytest.raises(GalleryError, match="CREDENTIALS_DIRECTORY is not set"):
        open_gallery(gc, RecognitionConfig())
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert open_gallery(gc, RecognitionConfig()).people == g.people
