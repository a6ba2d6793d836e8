"""Signing in to the parents' app with a code sent by Zalo ZNS (#24 item 1: "a one-time code sent through the
guardian's registered channel (SMS / e-mail / Zalo)"), against the local ZNS endpoint that speaks Zalo's documented
request and answer (edge/central/notify/zns_service.py): the code goes out in the school's approved OTP template to
the guardian's 84… number and works once; the store keeps only an HMAC of it under a key that is not in the store;
expired, spent and refused codes do not sign in; Zalo's refusal is shown at once and leaves no usable code; a
channel whose secret the web app was not given is not used. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edge.central.notify.zns_service import LocalZnsService, RegisteredTemplate
from edge.central.parents.signin import MAX_CODES_PER_HOUR, code_key
from edge.central.web.context import WebContext
from edge.config.central import parse_central_text, secrets_elsewhere, unset_secrets
from edge.config.loader import ConfigError
from edge.devtools.postgres import PostgresServer
from tests.web_support import SITE, TZ, csrf_from, make_web

TOKEN = "oa-access-token-for-codes-0123"
OTP_TEMPLATE = "2001"
ARRIVED_TEMPLATE = "2002"
PHONE = "0912 345 678"
ZNS_PHONE = "84912345678"
E164 = "+84912345678"
GUARDIANS = """person_id,name,phone,email,channel,language,kinds
an,Nguyễn Văn Ba,0912 345 678,,zalo,vi,arrived;absent
"""


def central(zns_url: str, token: str = TOKEN) -> str:
    return f"""
schools:
  - id: {SITE}
    name: Trường THCS Thử
    timezone: {TZ}
    roster: roster.csv
    guardians: guardians.csv
    calendar:
      terms: [{{name: "Học kỳ I", start: 2026-09-05, end: 2027-01-15}}]
      cutoff: "07:45"
    gates: {{main-in: {{vi: "cổng chính", en: "main gate"}}}}
    channels:
      - name: zalo
        type: zalo_zns
        url: "{zns_url}"
        access_token: "{token}"
        timeout_s: 10
        templates:
          arrived: {{vi: {{template_id: "{ARRIVED_TEMPLATE}", params: {{student_name: name, arrival_time: time}}}}}}
          sign_in: {{vi: {{template_id: "{OTP_TEMPLATE}", params: {{otp: code}}}}}}
"""


@dataclass
class ZaloSchool:
    ctx: WebContext
    app: FastAPI
    zns: LocalZnsService

    def codes(self) -> list[str]:
        """The codes Zalo accepted for delivery, oldest first (what reached the parent's Zalo)."""
        return [str(r.body["template_data"]["otp"]) for r in self.zns.requests if r.answer.get("error") == 0]


@pytest.fixture(params=["sqlite", "postgresql"])
def school(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ZaloSchool]:
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    zns = LocalZnsService(
        TOKEN,
        {OTP_TEMPLATE: RegisteredTemplate({"otp": 10}), ARRIVED_TEMPLATE: RegisteredTemplate({"student_name": 30,
                                                                                              "arrival_time": 20})},
    )  # fmt: skip
    ctx, app = make_web(tmp_path, url, central=central(zns.url), guardians=GUARDIANS)
    try:
        yield ZaloSchool(ctx, app, zns)
    finally:
        ctx.close()
        zns.close()


def ask(c: TestClient, address: str = PHONE) -> tuple[int, str]:
    token = csrf_from(c.get("/p/login").text)
    r = c.post("/p/login", data={"address": address, "csrf_token": token})
    return r.status_code, r.text


def enter(c: TestClient, code: str) -> int:
    token = csrf_from(c.get("/p/login").text)
    r = c.post("/p/login/code", data={"address": E164, "code": code, "csrf_token": token}, follow_redirects=False)
    return int(r.status_code)


def test_code_by_zalo_signs_in_once_and_is_kept_only_as_a_keyed_hash(school: ZaloSchool) -> None:
    with TestClient(school.app) as c:
        status, page = ask(c)
        assert status == 200 and 'id="code-sent"' in page, page
        assert len(school.zns.requests) == 1
        req = school.zns.requests[0]
        assert req.headers["access_token"] == TOKEN
        assert req.body["template_id"] == OTP_TEMPLATE and req.body["phone"] == ZNS_PHONE
        code = school.codes()[0]
        assert re.fullmatch(r"\d{6}", code)
        assert req.body["tracking_id"].startswith("signin:")
        row = school.ctx.db.one("SELECT id, code_hash FROM parent_codes WHERE address = ?", (E164,))
        assert row is not None
        stored = row["code_hash"]
        assert code not in stored
        assert stored != hashlib.sha256(f"{row['id']}:{code}".encode()).hexdigest(), "unkeyed: brute-forced offline"
        assert stored == hmac.new(school.ctx.code_key, f"{row['id']}:{code}".encode(), hashlib.sha256).hexdigest()
        assert enter(c, code) == 303
        assert c.get("/p/api/children").status_code == 200
    with TestClient(school.app) as other:
        assert enter(other, code) == 422, "a code is spent by its first use"
        assert other.get("/p/api/children").status_code == 401


def test_expired_wrong_and_refused_codes_do_not_sign_in(school: ZaloSchool) -> None:
    with TestClient(school.app) as c:
        assert ask(c)[0] == 200
        code = school.codes()[-1]
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        assert enter(c, wrong) == 422
        with school.ctx.db.transaction() as tx:
            tx.execute("UPDATE parent_codes SET expires_at = ? WHERE address = ?", (time.time() - 1, E164))
        assert enter(c, code) == 422, "expired"
        # a code keyed under another key (another server's, or before a restart without a key file) is not valid
        assert ask(c)[0] == 200
        fresh = school.codes()[-1]
        real_key = school.ctx.code_key
        school.ctx.code_key = code_key(b"another secret")
        assert enter(c, fresh) == 422
        school.ctx.code_key = real_key
        assert enter(c, fresh) == 303
        # Zalo refuses (the number has no Zalo account): said at once, and nothing usable is kept
        school.zns.override = lambda body: (200, {}, {"error": -118, "message": "Zalo account not existed"})
        status, page = ask(c)
        assert status == 422 and "Không gửi được mã" in page, page
        open_codes = school.ctx.db.query(
            "SELECT id FROM parent_codes WHERE address = ? AND used_at IS NULL AND expires_at > ?", (E164, time.time())
        )
        assert open_codes == []
        school.zns.override = None
        # per-address limit: the refused request counts too (it was a message to Zalo)
        for _ in range(MAX_CODES_PER_HOUR - 3):
            assert ask(c)[0] == 200
        status, page = ask(c)
        assert status == 422 and "quá nhiều mã" in page
        assert len(school.codes()) == MAX_CODES_PER_HOUR - 1


def test_a_zalo_channel_without_its_token_in_the_web_apps_environment_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = central("http://127.0.0.1:9/message/template", token="${EDGE_ZALO_TOKEN}")
    env = secrets_elsewhere(text, {})  # the web app without the token: central.yaml's secrets are the notifier's
    cfg = parse_central_text(text, env=env, base_dir=tmp_path)
    assert unset_secrets(cfg.schools[0].channels[0]) == ["access_token"]
    monkeypatch.setenv("EDGE_ZALO_TOKEN", env["EDGE_ZALO_TOKEN"])  # what `edge server run` then holds
    zns = LocalZnsService(TOKEN, {OTP_TEMPLATE: RegisteredTemplate({"otp": 10})})
    ctx, app = make_web(tmp_path, central=central(zns.url, token="${EDGE_ZALO_TOKEN}"), guardians=GUARDIANS)
    try:
        with TestClient(app) as c:
            status, page = ask(c)
            assert status == 422 and "chưa có kênh" in page, page
        assert zns.requests == [], "a placeholder token was sent to Zalo"
    finally:
        ctx.close()
        zns.close()


def test_sign_in_template_must_carry_the_code_and_only_it_may() -> None:
    base = central("http://127.0.0.1:9/message/template")
    with pytest.raises(ConfigError, match="map one parameter to 'code'"):
        parse_central_text(base.replace("params: {otp: code}", "params: {otp: name}"), base_dir=Path("."))
    with pytest.raises(ConfigError, match=r"only for templates\.sign_in"):
        parse_central_text(base.replace("arrival_time: time", "arrival_time: code"), base_dir=Path("."))
    assert code_key(b"k" * 32) == code_key(b"k" * 32), "the same after a restart"
    assert code_key(b"k" * 32) != code_key(b"j" * 32)
