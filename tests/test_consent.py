"""Consent to face recognition and the child's data (#24 item 4): consent is recorded with who/when/how on both
stores; a face is refused for a student without consent (Student page, API, `edge distribution enroll`, bulk);
withdrawing it deletes the templates at the centre and announces a gallery without them, audited; the office
downloads everything the school holds about the child as JSON and as a readable document."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pypdf import PdfReader

from edge.central.distribution.centre import CentreStore
from edge.central.distribution.publisher import Publisher
from edge.central.parents import consent
from edge.central.store import open_store
from edge.central.web import audit
from edge.central.web.context import WebContext
from edge.central.web.db import WebDb
from edge.central.web.enrolment import EnrolmentLink, PublishTarget
from edge.central.web.gates import GateMonitor
from edge.central.web.i18n import translate
from edge.devtools.mosquitto import MosquittoBroker
from edge.devtools.postgres import PostgresServer
from edge.recognition.gallery import Gallery
from tests.enrol_support import PREFIX, announced
from tests.helpers import FACES, Watcher
from tests.web_support import SCHOOL_MORNING, SITE, checkin, csrf_from, login, make_web

KEY = bytes(range(32))
STUDENT = f"/s/{SITE}/student/an"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        return pg.fresh_database()
    return f"sqlite:///{tmp_path / 'centre.sqlite'}"


def test_decisions_are_kept_in_order_and_the_latest_decides(store_url: str) -> None:
    open_store(store_url).close()
    db = WebDb(store_url)
    try:
        assert consent.current(db, SITE, "an") is None
        with pytest.raises(consent.ConsentMissing):
            consent.require_consent(db, SITE, "an")
        consent.give(db, SITE, "an", given_by="Nguyễn Văn Ba", method="paper", recorded_by="office", note="phiếu 02/09")
        consent.give(db, SITE, "binh", given_by="Mẹ Bình", method="app", recorded_by="guardian:g2")
        assert consent.require_consent(db, SITE, "an").given_by == "Nguyễn Văn Ba"
        assert consent.consenting(db, SITE) == {"an", "binh"}
        consent.withdraw(db, None, SITE, "an", given_by="Nguyễn Văn Ba", method="app", recorded_by="guardian:g1")
        with pytest.raises(consent.ConsentMissing):
            consent.require_consent(db, SITE, "an")
        assert consent.consenting(db, SITE) == {"binh"}
        assert consent.consenting(db, "another-school") == set()
        hist = consent.history(db, SITE, "an")
        assert [(h.action, h.method, h.recorded_by) for h in hist] == [
            ("given", "paper", "office"),
            ("withdrawn", "app", "guardian:g1"),
        ]
        assert hist[0].note == "phiếu 02/09" and hist[0].at <= hist[1].at
        for who, how in (("  ", "paper"), ("x" * 201, "paper"), ("a\x00b", "paper"), ("Ba", "fax")):
            with pytest.raises(consent.ConsentInputError):
                consent.give(db, SITE, "chi", given_by=who, method=how, recorded_by="office")
        assert consent.current(db, SITE, "chi") is None, "a refused decision writes nothing"
        actions = [r["action"] for r in audit.recent(db)]
        assert actions.count("consent_given") == 2 and actions.count("consent_withdrawn") == 1
    finally:
        db.close()


def _link(tmp_path: Path, broker: MosquittoBroker) -> EnrolmentLink:
    tls = broker.identity("test-web-enrol", "server")
    assert tls is not None
    target = PublishTarget("127.0.0.1", broker.port, tls, "test-web-enrol", PREFIX, timeout_s=5)
    return EnrolmentLink(CentreStore(tmp_path / "centre", KEY), publish=target)


@pytest.fixture
def web(tmp_path: Path, broker: MosquittoBroker) -> Iterator[tuple[WebContext, TestClient]]:
    ctx, app = make_web(tmp_path)
    ctx.enrolment = _link(tmp_path, broker)
    with TestClient(app) as c:
        yield ctx, c
    ctx.close()
    with Publisher("127.0.0.1", broker.port, broker.identity("test-web-enrol", "server"), "test-consent-clear") as p:
        p.clear(SITE, "gallery")


@pytest.fixture
def gallery_topic(broker: MosquittoBroker) -> Iterator[Watcher]:
    w = Watcher(broker, f"{PREFIX}/{SITE}/distribution/gallery/#", client_id="test-consent-watcher")
    yield w
    w.close()


def _post(c: TestClient, path: str, **form: str) -> httpx.Response:
    r: httpx.Response = c.post(path, data={"csrf_token": csrf_from(c.get(STUDENT).text), **form})
    return r


def test_the_office_records_consent_enrols_and_a_withdrawal_takes_the_face_off_the_gates(
    web: tuple[WebContext, TestClient], gallery_topic: Watcher, broker: MosquittoBroker, tmp_path: Path
) -> None:
    ctx, c = web
    login(c, "office")
    photo = (FACES / "obama_1.jpg").read_bytes()
    page = c.get(STUDENT).text
    assert "Chưa có sự đồng ý" in page and 'id="consent-give"' in page

    # without consent: refused before the photo is even read, nothing stored
    r = c.post(f"/api/v1/schools/{SITE}/students/an/face", content=photo, headers={"content-type": "image/jpeg"})
    assert r.status_code == 409 and r.json()["reason"] == "no_consent", r.text
    r = c.post(f"{STUDENT}/face", data={"csrf_token": csrf_from(page)}, files={"photo": ("a.jpg", photo, "image/jpeg")})
    assert r.status_code == 409 and "Chưa có sự đồng ý nhận diện khuôn mặt" in r.text
    assert not list((tmp_path / "centre").rglob("gallery-*"))

    r = _post(c, f"{STUDENT}/consent", given_by="Nguyễn Văn Ba", note="phiếu giấy 02/09")
    assert r.status_code == 200 and "Đã ghi nhận sự đồng ý" in r.text
    assert "Đã đồng ý: Nguyễn Văn Ba (phiếu giấy)" in r.text
    r = c.post(
        f"{STUDENT}/face",
        data={"csrf_token": csrf_from(c.get(STUDENT).text)},
        files={"photo": ("a.jpg", photo, "image/jpeg")},
    )
    assert r.status_code == 200 and 'id="face-notice"' in r.text, r.text
    enrolled = int(r.text.split("phiên bản ")[1].split(" ")[0])
    assert announced(gallery_topic, enrolled, broker).people == ["an"]

    r = _post(c, f"{STUDENT}/consent/withdraw", given_by="Nguyễn Văn Ba", note="gọi điện")
    assert r.status_code == 200 and "Đã rút lại sự đồng ý" in r.text
    withdrawn = int(r.text.split("phiên bản ")[1].split(" ")[0])
    assert withdrawn > enrolled
    assert announced(gallery_topic, withdrawn, broker).people == []
    site_dir = tmp_path / "centre" / SITE
    assert Gallery.load(next(site_dir.glob("gallery-*.npz")), KEY).people == []
    assert ctx.enrolment is not None and not ctx.enrolment.status(SITE, "an").enrolled
    # the card binding stays: the card keeps working
    assert ctx.directories.get(SITE).students["an"].card_uid == "0F00A1B2C3"  # type: ignore[union-attr]
    # and a new enrolment is refused again
    r = c.post(f"/api/v1/schools/{SITE}/students/an/face", content=photo, headers={"content-type": "image/jpeg"})
    assert r.status_code == 409 and r.json()["reason"] == "no_consent"

    # each gateway's reported gallery version confirms the removal on the Student page
    ctx.gates = GateMonitor("127.0.0.1", 1, "test-web", None, site_id=SITE)  # fed below, never connected
    for gw, v in (("gw-a", withdrawn), ("gw-b", enrolled)):
        health = {"distribution": {"gallery": {"version": v}}}
        ctx.gates.handle(f"{PREFIX}/{SITE}/{gw}/health", json.dumps(health).encode())
    box = c.get(STUDENT).text.split('id="gallery-versions"')[1].split("</p>")[0]
    assert f"gw-a: {withdrawn} ✓" in box and f"gw-b: {enrolled} (đang chờ)" in box
    assert f"phiên bản {withdrawn}" in box

    rows = [(x["action"], x["username"]) for x in audit.recent(ctx.db)]
    assert rows[:4] == [
        ("face_remove", "office"),
        ("consent_withdrawn", "office"),
        ("face_enrol", "office"),
        ("consent_given", "office"),
    ], rows
    removal = next(x for x in audit.recent(ctx.db) if x["action"] == "face_remove")
    assert removal["detail"]["reason"] == "consent_withdrawn" and removal["detail"]["gallery_version"] == withdrawn


def test_only_the_office_decides_and_forms_need_their_token(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    login(c, "teacher6a")
    assert 'id="consent-give"' not in c.get(STUDENT).text
    assert _post(c, f"{STUDENT}/consent", given_by="Ba").status_code == 403
    assert c.get(f"{STUDENT}/data.json").status_code == 403
    c.cookies.clear()
    login(c, "office")
    r = c.post(f"{STUDENT}/consent", data={"csrf_token": "forged", "given_by": "Ba"})
    assert r.status_code == 403
    r = _post(c, f"{STUDENT}/consent", given_by="   ")
    assert r.status_code == 422 and "Không ghi nhận được" in r.text
    assert consent.current(ctx.db, SITE, "an") is None


def test_the_childs_data_as_json_and_as_a_document(web: tuple[WebContext, TestClient]) -> None:
    ctx, c = web
    ctx.store.store_batch([checkin("an", SCHOOL_MORNING - timedelta(minutes=18)), checkin("binh", SCHOOL_MORNING)])
    consent.give(ctx.db, SITE, "an", given_by="Nguyễn Văn Ba", method="paper", recorded_by="office")
    login(c, "office")
    r = c.get(f"{STUDENT}/data.json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = json.loads(r.content)
    assert data["student"] == {
        "person_id": "an",
        "name": "Nguyễn Văn An",
        "class": "6A",
        "card_uid": "0F00A1B2C3",
        "enrolled_from": "2026-09-01",
        "enrolled_until": None,
    }
    assert [g["name"] for g in data["guardians"]] == ["Nguyễn Văn Ba"]
    assert data["guardians"][0]["phone"] == "+84912345678"
    assert [x["person_id"] for x in data["checkins"]] == ["an"], "only this child's check-ins"
    assert [h["action"] for h in data["consent_history"]] == ["given"]
    assert data["face_templates"] == {"known": True, "templates": 0, "model": "sface"}
    html = c.get(f"{STUDENT}/data.html")
    assert html.status_code == 200
    assert "Dữ liệu nhà trường lưu về học sinh" in html.text and "Nguyễn Văn Ba" in html.text
    checkins = html.text.split('id="data-checkins"')[1].split("</table>")[0]
    assert "07:12" in checkins
    assert data["checkins"][0]["decision"] == "granted", "the JSON keeps the codes"
    words = [translate("vi", k) for k in ("method.card", "today.dir.in", "decision.granted")]
    assert all(w in checkins for w in words) and "granted" not in checkins, "the document says them in words"
    pdf = c.get(f"{STUDENT}/data.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Nguyễn Văn An" in text and "Nguyễn Văn Ba" in text and "0F00A1B2C3" in text
    assert translate("vi", "decision.granted") in text and "granted" not in text
    exports = [x for x in audit.recent(ctx.db) if x["action"] == "child_data_export"]
    assert [x["detail"]["format"] for x in exports] == ["pdf", "html", "json"]
    c.cookies.set("edge_lang", "en")
    assert "<td>Let through</td>" in c.get(f"{STUDENT}/data.html").text, "in the reader's language"


def test_cli_enrol_refuses_students_without_consent(tmp_path: Path) -> None:
    from edge.cli import cli
    from edge.security.sealed import new_key_file

    url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    open_store(url).close()
    db = WebDb(url)
    consent.give(db, SITE, "obama", given_by="Michelle", method="paper", recorded_by="office")
    db.close()
    new_key_file(tmp_path / "centre.key")
    for pid in ("obama", "rose"):
        (tmp_path / "photos" / pid).mkdir(parents=True)
    (tmp_path / "photos" / "obama" / "1.jpg").write_bytes((FACES / "obama_1.jpg").read_bytes())
    (tmp_path / "photos" / "rose" / "1.jpg").write_bytes((FACES / "obama_2.jpg").read_bytes())
    env = {
        "EDGE_CENTRE_DIR": str(tmp_path / "centre"),
        "EDGE_CENTRE_KEY_FILE": str(tmp_path / "centre.key"),
        "EDGE_STORE_URL": url,
    }
    args = ["distribution", "enroll", SITE, "--photos", str(tmp_path / "photos"), "--jitters", "1"]
    r = CliRunner().invoke(cli, args, env=env)
    assert r.exit_code == 0, r.output
    assert "no_consent" in r.output and "rose" in r.output and "1 photo(s) accepted" in r.output
    assert CentreStore(tmp_path / "centre", new_key(tmp_path)).gallery(SITE).people == ["obama"]
    (tmp_path / "photos" / "obama" / "1.jpg").unlink()
    (tmp_path / "photos" / "obama").rmdir()
    r = CliRunner().invoke(cli, args, env=env)
    assert r.exit_code == 1 and "nothing enrolled" in r.output, r.output


def new_key(tmp_path: Path) -> bytes:
    from edge.security.sealed import read_key_file

    return read_key_file(tmp_path / "centre.key")
