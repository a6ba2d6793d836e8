"""Face enrolment from the Student page and the API (#10/#11): a real photo becomes a template in the centre's
sealed gallery, the new gallery version is signed and announced (retained) on the closed test broker, where a
server identity reads it, checks the signature against the site CA and finds the student in it; bad uploads are
refused with a clear error and nothing stored; teachers, guards and forged forms are refused; the photo is never
kept; every change is in the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.central.distribution.centre import CentreStore
from edge.central.distribution.publisher import Publisher
from edge.central.parents import consent
from edge.central.web import audit
from edge.central.web.context import WebContext
from edge.central.web.enrolment import EnrolmentLink, PublishTarget
from edge.central.web.photo import MAX_PIXELS, PhotoInfo, PhotoRefused, photo_info
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.recognition.gallery import Gallery
from tests.enrol_support import PREFIX, announced
from tests.helpers import FACES, Watcher, fuzz_examples
from tests.web_support import SITE, csrf_from, login, make_web

KEY = bytes(range(32))
STUDENT = f"/s/{SITE}/student/an"
FACE_API = f"/api/v1/schools/{SITE}/students/an/face"


def _link(tmp_path: Path, broker: MosquittoBroker, port: int | None = None, timeout_s: float = 5) -> EnrolmentLink:
    tls = broker.identity("test-web-enrol", "server")
    assert tls is not None
    target = PublishTarget("127.0.0.1", port or broker.port, tls, "test-web-enrol", PREFIX, timeout_s=timeout_s)
    return EnrolmentLink(CentreStore(tmp_path / "centre", KEY), publish=target)


def _consented(ctx: WebContext) -> None:
    """A face is enrolled only with a recorded consent (tests/test_consent.py): the office recorded the forms."""
    for pid in ("an", "binh"):
        consent.give(ctx.db, SITE, pid, given_by="Nguyễn Văn Ba", method="paper", recorded_by="office")


@pytest.fixture
def web(tmp_path: Path, broker: MosquittoBroker) -> Iterator[tuple[WebContext, TestClient]]:
    ctx, app = make_web(tmp_path)
    ctx.enrolment = _link(tmp_path, broker)
    _consented(ctx)
    with TestClient(app) as c:
        yield ctx, c
    ctx.close()
    # withdraw what the test announced: the session broker would hand it to a later test's gateway on this site
    with Publisher("127.0.0.1", broker.port, broker.identity("test-web-enrol", "server"), "test-enrol-clear") as p:
        p.clear(SITE, "gallery")


@pytest.fixture
def gallery_topic(broker: MosquittoBroker) -> Iterator[Watcher]:
    """A server identity subscribed to the site's gallery distribution (retained manifest and chunks)."""
    w = Watcher(broker, f"{PREFIX}/{SITE}/distribution/gallery/#", client_id="test-enrol-watcher")
    yield w
    w.close()


def _upload(c: TestClient, photo: bytes, name: str = "photo.jpg", csrf: str | None = "page", **kw: Any) -> Any:
    data = {}
    if csrf == "page":
        data["csrf_token"] = csrf_from(c.get(STUDENT).text)
    elif csrf is not None:
        data["csrf_token"] = csrf
    return c.post(f"{STUDENT}/face", data=data, files={"photo": (name, photo, "image/jpeg")}, **kw)


def _face_rows(ctx: WebContext) -> list[dict[str, Any]]:
    return [r for r in audit.recent(ctx.db) if r["action"].startswith("face_")]


def _grey_jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((480, 640, 3), 128, np.uint8))
    assert ok
    return buf.tobytes()


def test_office_enrols_a_photo_the_gateways_are_offered_it_and_removes_it(
    web: tuple[WebContext, TestClient], gallery_topic: Watcher, broker: MosquittoBroker, tmp_path: Path
) -> None:
    ctx, c = web
    login(c, "office")
    page = c.get(STUDENT).text
    assert 'id="face-status">' in page and "Không" in page.split('id="face-status">')[1][:40]
    assert 'id="face-no-template"' in page and "chỉ bằng thẻ" in page  # no template: said, never silent
    assert 'name="photo"' in page and "face-remove" not in page
    photo = (FACES / "obama_1.jpg").read_bytes()

    r = _upload(c, photo)
    assert r.status_code == 200, r.text
    assert 'id="face-notice"' in r.text and 'id="face-error"' not in r.text
    status = r.text.split('id="face-status">')[1][:80]
    assert "1 mẫu, sface" in status, status
    assert 'id="face-one-template"' in r.text and 'id="face-no-template"' not in r.text
    version = int(r.text.split("phiên bản ")[1].split(" ")[0])
    offered = announced(gallery_topic, version, broker)
    assert offered.people == ["an"] and len(offered) == 1

    # the photo is not kept: the centre holds the sealed gallery and its versions, nothing else
    site_dir = tmp_path / "centre" / SITE
    assert sorted(p.name for p in site_dir.iterdir()) == ["gallery-" + ctx.enrolment.model_id + ".npz", "versions.json"]  # type: ignore[union-attr]
    assert not any(photo[:64] in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert Gallery.load(site_dir / f"gallery-{ctx.enrolment.model_id}.npz", KEY).people == ["an"]  # type: ignore[union-attr]
    assert "ảnh không được lưu lại" in r.text.lower()

    api = c.get(f"/api/v1/schools/{SITE}/students/an").json()
    assert api["face_enrolled"] is True
    assert c.get(f"/api/v1/schools/{SITE}/students/binh").json()["face_enrolled"] is False

    (row,) = _face_rows(ctx)
    assert row["username"] == "office" and row["action"] == "face_enrol" and row["ip"] == "testclient"
    assert row["detail"] == {"person_id": "an", "templates": 1, "model": "sface", "gallery_version": version}

    # a second photo of the same student adds a template; the same photo again is refused
    r = _upload(c, (FACES / "obama_2.jpg").read_bytes())
    assert r.status_code == 200 and "2 mẫu" in r.text.split('id="face-status">')[1][:80]
    assert 'id="face-one-template"' not in r.text
    r = _upload(c, photo)
    assert r.status_code == 409 and 'id="face-error"' in r.text and "đã được đăng ký" in r.text

    r = c.post(f"{STUDENT}/face/remove", data={"csrf_token": csrf_from(c.get(STUDENT).text)})
    assert r.status_code == 200 and "Đã xóa khuôn mặt" in r.text
    removed_version = int(r.text.split("phiên bản ")[1].split(" ")[0])
    assert removed_version > version
    assert announced(gallery_topic, removed_version, broker).people == []
    assert "face-remove" not in r.text
    assert [x["action"] for x in _face_rows(ctx)] == ["face_remove", "face_enrol", "face_enrol"]


def test_bad_uploads_are_refused_in_words_and_nothing_is_stored(
    web: tuple[WebContext, TestClient], tmp_path: Path
) -> None:
    ctx, c = web
    c.cookies.set("edge_lang", "en")
    login(c, "office")
    gallery = tmp_path / "centre" / SITE / f"gallery-{ctx.enrolment.model_id}.npz"  # type: ignore[union-attr]
    cases = [
        (b"person_id,name\nan,An\n", 415, "not a JPEG or PNG"),
        (b"\xff\xd8\xff" + b"\x00" * 500, 415, "not a JPEG or PNG"),  # a JPEG's magic, then rubbish
        (_grey_jpeg(), 422, "No face found"),
        ((FACES / "two_people.jpg").read_bytes(), 422, "another face of similar size"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (30000).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00",
            422,
            "too many pixels",
        ),
        (b"x" * (5 * 1024 * 1024 + 1), 413, "too large"),
        (b"", 422, "Choose a photo"),
    ]
    for body, status, words in cases:
        r = _upload(c, body)
        assert r.status_code == status, (words, r.status_code, r.text[:300])
        assert 'id="face-error"' in r.text and words in r.text, (words, r.text)
        assert not gallery.exists(), words
    assert _face_rows(ctx) == []

    # the API says the same in JSON, with a reason code
    r = c.post(FACE_API, content=_grey_jpeg(), headers={"content-type": "image/jpeg", "x-csrf-token": "x"})
    assert r.status_code == 403  # a session cookie needs the CSRF header on the API too
    token = csrf_from(c.get(STUDENT).text)
    r = c.post(FACE_API, content=_grey_jpeg(), headers={"content-type": "image/jpeg", "x-csrf-token": token})
    assert r.status_code == 422 and r.json()["reason"] == "no_face"
    r = c.post(FACE_API, content=b"hello", headers={"content-type": "text/plain", "x-csrf-token": token})
    assert r.status_code == 415 and r.json()["reason"] == "not_image"
    assert not gallery.exists()


def test_only_office_and_admin_enrol_and_forms_need_their_csrf_token(
    web: tuple[WebContext, TestClient], tmp_path: Path
) -> None:
    ctx, c = web
    photo = (FACES / "obama_1.jpg").read_bytes()
    gallery = tmp_path / "centre" / SITE / f"gallery-{ctx.enrolment.model_id}.npz"  # type: ignore[union-attr]
    login(c, "teacher6a")
    page = c.get(STUDENT)
    assert page.status_code == 200 and 'name="photo"' not in page.text, "a teacher sees the flag, not the form"
    assert _upload(c, photo).status_code == 403
    assert c.post(f"{STUDENT}/face/remove", data={"csrf_token": csrf_from(page.text)}).status_code == 403
    assert c.post(FACE_API, content=photo, headers={"content-type": "image/jpeg"}).status_code == 403
    teacher_token = ctx.tokens.create("teacher6a")
    c.cookies.clear()
    bearer = {"authorization": f"Bearer {teacher_token}"}
    assert c.post(FACE_API, content=photo, headers={**bearer, "content-type": "image/jpeg"}).status_code == 403
    assert c.delete(FACE_API, headers=bearer).status_code == 403
    login(c, "guard")
    assert _upload(c, photo, csrf="whatever").status_code == 403

    c.cookies.clear()
    login(c, "admin")
    r = _upload(c, photo, csrf=None)
    assert r.status_code == 403 and "biểu mẫu đã hết hạn" in r.text.lower()
    assert _upload(c, photo, csrf="not-the-token").status_code == 403
    assert c.post(f"{STUDENT}/face/remove", data={}).status_code == 403
    assert not gallery.exists() and _face_rows(ctx) == []
    assert _upload(c, photo).status_code == 200, "with the page's token the admin enrols"
    assert [(x["username"], x["action"]) for x in _face_rows(ctx)] == [("admin", "face_enrol")]


def test_api_enrol_and_remove_with_a_token(
    web: tuple[WebContext, TestClient], gallery_topic: Watcher, broker: MosquittoBroker
) -> None:
    ctx, c = web
    token = ctx.tokens.create("office", "sis")
    auth = {"authorization": f"Bearer {token}"}
    photo = (FACES / "obama_1.jpg").read_bytes()
    r = c.post(FACE_API, content=photo, headers={**auth, "content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["face_enrolled"] is True and out["templates"] == 1 and out["published"] is True
    assert announced(gallery_topic, out["gallery_version"], broker).people == ["an"]
    assert c.get(f"/api/v1/schools/{SITE}/students/an", headers=auth).json()["face_enrolled"] is True
    r = c.delete(FACE_API, headers=auth)
    assert r.status_code == 200 and r.json()["templates"] == 0 and r.json()["gallery_version"] > out["gallery_version"]
    r = c.delete(FACE_API, headers=auth)
    assert r.status_code == 404 and r.json()["reason"] == "not_enrolled"
    assert c.delete(f"/api/v1/schools/{SITE}/students/nobody/face", headers=auth).status_code == 404
    assert [x["action"] for x in _face_rows(ctx)] == ["face_remove", "face_enrol"]
    paths = c.get("/api/openapi.json", headers=auth).json()["paths"]
    assert "/api/v1/schools/{site_id}/students/{person_id}/face" in paths


def test_broker_down_the_face_is_enrolled_and_the_page_says_it_was_not_sent(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    ctx, app = make_web(tmp_path)
    ctx.enrolment = _link(tmp_path, broker, port=free_port(), timeout_s=1)  # nobody listens there
    _consented(ctx)
    with TestClient(app) as c:
        c.cookies.set("edge_lang", "en")
        login(c, "office")
        r = _upload(c, (FACES / "obama_1.jpg").read_bytes())
        assert r.status_code == 200 and "Face enrolled." in r.text and "Not sent to the gates yet" in r.text
        assert "Yes (1 template, sface)" in r.text
        (row,) = _face_rows(ctx)
        assert row["detail"]["gallery_version"] is None and "not reached" in row["detail"]["publish_error"]
    ctx.close()


def test_without_a_centre_link_the_flag_is_unknown_and_enrolment_unavailable(tmp_path: Path) -> None:
    ctx, app = make_web(tmp_path)
    with TestClient(app) as c:
        c.cookies.set("edge_lang", "en")
        login(c, "office")
        page = c.get(STUDENT).text
        assert "Not known" in page and 'name="photo"' not in page
        assert _upload(c, (FACES / "obama_1.jpg").read_bytes()).status_code == 503
        assert c.get(f"/api/v1/schools/{SITE}/students/an").json()["face_enrolled"] is None
    ctx.close()


def test_server_run_wants_the_centre_folder_and_its_key_together(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edge.central.web.commands import server

    cfg = tmp_path / "central.yaml"
    cfg.write_text("schools: []\n")
    base = ["run", "-c", str(cfg), "--store", f"sqlite:///{tmp_path / 's.sqlite'}"]
    r = CliRunner().invoke(server, [*base, "--centre", str(tmp_path / "centre")], env={"EDGE_CENTRE_KEY_FILE": ""})
    assert r.exit_code == 2 and "--centre and --centre-key-file go together" in r.output
    (tmp_path / "short.key").write_bytes(b"too short")
    r = CliRunner().invoke(
        server, [*base, "--centre", str(tmp_path / "c"), "--centre-key-file", str(tmp_path / "short.key")]
    )
    assert r.exit_code == 2 and "error:" in r.output


def test_photo_info_reads_sizes_from_headers() -> None:
    for path in (FACES / "obama_1.jpg", FACES / "two_people.jpg"):
        data = path.read_bytes()
        img = cv2.imread(str(path))
        assert img is not None
        assert photo_info(data) == PhotoInfo("jpeg", img.shape[1], img.shape[0])
        ok, png = cv2.imencode(".png", img)
        assert ok and photo_info(png.tobytes()) == PhotoInfo("png", img.shape[1], img.shape[0])
    ok, tiny = cv2.imencode(".jpg", np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(PhotoRefused, match="at least"):
        photo_info(tiny.tobytes())
    assert MAX_PIXELS >= 48_000_000


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"\xff\xd8\xff" + b)))
def test_photo_info_refuses_in_words_whatever_it_is_given(data: bytes) -> None:
    try:
        info = photo_info(data)
    except PhotoRefused as exc:
        assert exc.reason in ("not_image", "too_large_picture", "too_small_picture") and exc.detail
    else:
        assert info.kind in ("jpeg", "png") and info.width * info.height <= MAX_PIXELS


def test_audit_rows_never_hold_the_photo(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    login(c, "office")
    photo = (FACES / "obama_2.jpg").read_bytes()
    assert _upload(c, photo).status_code == 200
    raw = ctx.db.query("SELECT detail FROM web_audit WHERE action = 'face_enrol'")
    assert len(raw) == 1 and len(raw[0]["detail"]) < 300
    assert set(json.loads(raw[0]["detail"])) == {"person_id", "templates", "model", "gallery_version"}


def test_server_options_build_the_link_and_every_face_text_is_translated(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    import re

    from edge.central import catalogs
    from edge.central.web.deps import HERE
    from edge.central.web.server import ServerOptions, enrolment_link
    from edge.security.sealed import new_key_file

    new_key_file(tmp_path / "centre.key")
    opts = ServerOptions(tmp_path / "c.yaml", "sqlite://", centre_dir=tmp_path / "centre")
    assert enrolment_link(opts) is None, "the folder without its key is no link"
    link = enrolment_link(replace(opts, centre_key_file=tmp_path / "centre.key"))
    assert link is not None and link.target is None and link.status(SITE, "an").enrolled is False
    assert broker.pki is not None
    broker.identity("test-web-enrol", "server")
    key = tmp_path / "centre.key"
    link = enrolment_link(replace(opts, centre_key_file=key, pki_dir=broker.pki.dir, identity="test-web-enrol"))
    assert link is not None and link.target is not None and link.signing_site == SITE

    text = (HERE / "templates" / "_face.html").read_text(encoding="utf-8")
    keys = set(re.findall(r"""t\(["']([a-z0-9_.+-]+)["']""", text))
    keys |= {f"face.err.{r}" for r in ("not_image", "too_large", "no_face", "several_faces", "blurred", "gallery")}
    assert len(keys) > 10 and sorted(k for k in keys if k not in catalogs.keys("vi") & catalogs.keys("en")) == []


def test_the_web_app_publishes_a_gallery_over_its_one_broker_connection(
    tmp_path: Path, broker: MosquittoBroker, gallery_topic: Watcher
) -> None:
    """The broker binds the client id to the certificate: the web app's gates link and its gallery publisher,
    one identity, share one connection — a second one would replace the first (issue #21)."""
    import threading

    from edge.central.web.gates import GateMonitor
    from tests.helpers import client, wait_until

    tls = broker.identity("test-web-enrol", "server")
    assert tls is not None
    monitor = GateMonitor("127.0.0.1", broker.port, "test-web-enrol", tls, site_id=SITE)
    assert monitor.start(10)
    dropped = threading.Event()
    monitor.client.on_disconnect = lambda *_a: dropped.set()
    target = PublishTarget("127.0.0.1", broker.port, tls, "test-web-enrol", PREFIX, connection=monitor.client)
    link = EnrolmentLink(CentreStore(tmp_path / "centre", KEY), publish=target)
    gw = client(broker, "gw-enrol-health", "gateway")
    try:
        outcome = link.enrol(SITE, "an", (FACES / "obama_1.jpg").read_bytes())
        assert outcome.publish_error is None and outcome.version is not None, outcome
        assert announced(gallery_topic, outcome.version, broker).people == ["an"]
        # the gates link still reads its topics on the same, never dropped, connection
        gw.publish(f"{PREFIX}/{SITE}/gw-enrol-health/health", b'{"fps": 7}', qos=1).wait_for_publish(5)
        wait_until(lambda: any(g["fps"] == 7 for g in monitor.gateways(SITE)), 10, "the health report")
        assert not dropped.is_set()
        assert monitor.client.on_subscribe is not None  # the publisher gave the gates link its callback back
    finally:
        gw.disconnect()
        gw.loop_stop()
        with Publisher("127.0.0.1", broker.port, tls, "x", over=monitor.client) as p:
            p.clear(SITE, "gallery")
        monitor.stop()
