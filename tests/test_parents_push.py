"""Web Push from the parents' app (#24): the app gets the school's VAPID public key, the device's subscription is
stored at the centre through the Web Push channel's own functions (signed-in guardian only, CSRF header, bad keys
refused), and through the real notifier a local push service that decrypts with each device's keys receives a
family's notices on that family's device only — never another family's child (both stores)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.central.notify.channels.webpush import load_vapid_key, public_key_b64, write_vapid_key
from edge.central.notify.hook import NotifyHook, connect
from edge.central.notify.push_service import LocalPushService
from edge.central.notify.worker import Notifier
from edge.central.web import csrf
from edge.devtools.postgres import PostgresServer
from tests.parents_support import AN_PHONE, AN_PHONE_E164, BINH_PHONE, ParentsSchool, parents_school, sign_in
from tests.web_support import SCHOOL_MORNING, SITE, checkin

GUARDIANS = """person_id,name,phone,email,channel,language,kinds
an,Nguyễn Văn Ba,0912 345 678,,push,vi,arrived;absent
binh,Trần Văn Cường,0987 654 321,,push,vi,arrived;absent
"""


@pytest.fixture
def vapid(tmp_path: Path) -> Path:
    path = tmp_path / "vapid.pem"
    write_vapid_key(path)
    return path


@pytest.fixture
def service(vapid: Path) -> Iterator[LocalPushService]:
    s = LocalPushService(public_key_b64(load_vapid_key(vapid)))
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def school(request: pytest.FixtureRequest, tmp_path: Path, vapid: Path) -> Iterator[ParentsSchool]:
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    with parents_school(tmp_path, url, vapid=vapid, guardians=GUARDIANS) as s:
        yield s


def _subscribe(c: TestClient, service: LocalPushService, device: str, token: str | None) -> Any:
    b = service.subscribe(device)
    body = {"endpoint": b.endpoint, "keys": {"p256dh": b.p256dh, "auth": b.auth}, "label": f"{device}"}
    headers = {csrf.HEADER: token} if token is not None else {}
    return c.post("/p/api/push-subscription", json=body, headers=headers)


def _token(c: TestClient) -> str:
    page = c.get("/p/settings").text
    return str(page.split('data-csrf="')[1].split('"')[0])


def test_each_family_gets_its_own_childs_notices_on_its_own_device(
    school: ParentsSchool, service: LocalPushService, vapid: Path
) -> None:
    ctx = school.ctx
    with TestClient(school.app) as an, TestClient(school.app) as binh:
        assert an.get("/p/api/push-key").status_code == 401
        sign_in(an, school, AN_PHONE, AN_PHONE_E164)
        sign_in(binh, school, BINH_PHONE, "+84987654321")
        assert an.get("/p/api/push-key").json()["publicKey"] == public_key_b64(load_vapid_key(vapid))
        assert 'id="push-on"' in an.get("/p/settings").text
        assert _subscribe(an, service, "an-phone-forged", None).status_code == 403
        assert _subscribe(an, service, "an-phone", _token(an)).status_code == 201
        assert _subscribe(binh, service, "binh-phone", _token(binh)).status_code == 201
        bad = {"endpoint": "ftp://x", "keys": {"p256dh": "AA", "auth": "AA"}}
        r = an.post("/p/api/push-subscription", json=bad, headers={csrf.HEADER: _token(an)})
        assert r.status_code == 422 and "https" in r.json()["detail"]
        rows = ctx.db.query("SELECT guardian_id, label FROM push_subscriptions ORDER BY guardian_id")
        assert [(r["guardian_id"], r["label"]) for r in rows] == [("an-g1", "an-phone"), ("binh-g1", "binh-phone")]

    # both children arrive; the real notifier sends through the Web Push channel
    d = ctx.directories.get(SITE)
    assert d is not None
    hook = NotifyHook({SITE: d})
    events = [checkin("an", SCHOOL_MORNING - timedelta(minutes=18)), checkin("binh", SCHOOL_MORNING)]
    ctx.store.store_batch(events, on_stored=hook)
    url = ctx.db.url
    notifier = Notifier(ctx.cfg.notify, {SITE: d}, lambda: connect(url))
    notifier.start()
    try:
        assert service.wait_for(2, 60), f"{service.distinct} pushes"
    finally:
        notifier.stop()
    an_got = service.deliveries("an-phone")
    binh_got = service.deliveries("binh-phone")
    assert [x["person_id"] for x in an_got] == ["an"] and "Nguyễn Văn An" in an_got[0]["text"]
    assert [x["person_id"] for x in binh_got] == ["binh"] and "Trần Thị Bình" in binh_got[0]["text"]
    assert "Trần Thị Bình" not in str(an_got) and "Nguyễn Văn An" not in str(binh_got)
    assert service.deliveries("an-phone-forged") == [], "a refused subscription gets nothing"


def test_a_device_turned_off_stays_off(school: ParentsSchool, service: LocalPushService) -> None:
    """DELETE /p/api/push-subscription removes the device's row for good (the web app's PostgreSQL pool hands out
    autocommit connections, as push_subscriptions' functions expect: the DELETE is its own transaction)."""
    with TestClient(school.app) as an:
        sign_in(an, school, AN_PHONE, AN_PHONE_E164)
        b = service.subscribe("an-phone")
        body = {"endpoint": b.endpoint, "keys": {"p256dh": b.p256dh, "auth": b.auth}, "label": "an-phone"}
        assert an.post("/p/api/push-subscription", json=body, headers={csrf.HEADER: _token(an)}).status_code == 201
        assert len(school.ctx.db.query("SELECT 1 FROM push_subscriptions")) == 1
        r = an.request("DELETE", "/p/api/push-subscription", json=body, headers={csrf.HEADER: _token(an)})
        assert r.status_code == 200, r.text
        assert school.ctx.db.query("SELECT endpoint FROM push_subscriptions") == []
