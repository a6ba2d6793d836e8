"""Zalo ZNS against a local HTTP server speaking the documented request and answer (edge/central/notify/
zns_service.py checks the token, an approved template with exactly its parameters and lengths, the 84… phone,
the daily quota): template per message and language, development mode, values cut to the registered lengths,
each error class mapped to retry or dead-letter, tracking_id = the notice's key, +84 -> 84; and a check-in
through the store (SQLite and PostgreSQL) to the ZNS request with the names it was written with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.central.guardians import GuardiansError, parse_guardians
from edge.central.notify import jobs as q
from edge.central.notify.channels import Accepted, PermanentFailure, RetryAfter, build_channel
from edge.central.notify.channels.zalo_zns import tracking_id, zns_phone
from edge.central.notify.directory import load_directories
from edge.central.notify.hook import NotifyHook, connect
from edge.central.notify.messages import Messages, Notice
from edge.central.notify.receivers import free_port
from edge.central.notify.worker import Notifier
from edge.central.notify.zns_service import LocalZnsService, RegisteredTemplate
from edge.central.store import open_store
from edge.config.central import SchoolConfig, ZaloZnsChannel, parse_central_text
from edge.config.loader import ConfigError
from tests.helpers import wait_until

TOKEN = "oa-access-token-0123456789"
SCHOOL = SchoolConfig.model_validate(
    {
        "id": "s1",
        "name": "Trường THCS A",
        "calendar": {"terms": [{"name": "T1", "start": date(2026, 9, 5), "end": date(2027, 1, 16)}]},
        "gates": {"main-in": {"vi": "cổng chính", "en": "main gate"}},
    }
)
ARRIVED = {"student_name": "name", "class": "class_name", "arrival_time": "time", "gate": "gate", "date": "day"}
TEMPLATES: dict[str, Any] = {
    "arrived": {
        "vi": {"template_id": "1001", "params": ARRIVED},
        "en": {"template_id": "1002", "params": ARRIVED},
    },
    "absent": {"vi": {"template_id": "1003", "params": {"student_name": "name", "cutoff": "cutoff"}}},
}
REGISTERED = {
    "1001": RegisteredTemplate({"student_name": 30, "class": 30, "arrival_time": 20, "gate": 30, "date": 20}),
    "1002": RegisteredTemplate({"student_name": 30, "class": 30, "arrival_time": 20, "gate": 30, "date": 20}),
    "1003": RegisteredTemplate({"student_name": 30, "cutoff": 20}),
    "1004": RegisteredTemplate({"student_name": 30}, approved=False),
}
KEY = "s1/minh_anh/2026-11-24/arrived/minh_anh-g1"


@pytest.fixture
def zns() -> Iterator[LocalZnsService]:
    s = LocalZnsService(TOKEN, REGISTERED)
    yield s
    s.close()


def channel(url: str, **kw: Any) -> Any:
    cfg = {"name": "zalo", "type": "zalo_zns", "url": url, "access_token": TOKEN, "templates": TEMPLATES,
           "timeout_s": 5, **kw}  # fmt: skip
    return build_channel(ZaloZnsChannel.model_validate(cfg), "s1")


def notice(language: str = "vi", *, template: str = "arrived", name: str = "Nguyễn Minh Anh", **kw: Any) -> Notice:
    text, subject, fields = Messages(SCHOOL).compose(
        template, language, name=name, class_name="6A", time="07:12", gate="main-in", cutoff="07:45"
    )
    base: dict[str, Any] = {
        "key": KEY, "site": "s1", "guardian_id": "minh_anh-g1", "person_id": "minh_anh", "kind": "arrived",
        "template": template, "day": date(2026, 11, 24), "time": "07:12", "language": language, "text": text,
        "subject": subject, "phone": "+84912345678", "fields": fields,
    }  # fmt: skip
    base.update(kw)
    return Notice(**base)


def test_template_message_sent_as_documented(zns: LocalZnsService) -> None:
    ch = channel(zns.url)
    out = ch.send(notice())
    assert isinstance(out, Accepted) and out.detail.startswith("ZNS msg_id ") and out.detail.endswith("quota 499/500")
    (req,) = zns.requests
    assert req.headers["access_token"] == TOKEN and req.headers["content-type"].startswith("application/json")
    assert req.body == {
        "phone": "84912345678",
        "template_id": "1001",
        "template_data": {"student_name": "Nguyễn Minh Anh", "class": "6A", "arrival_time": "07:12",
                          "gate": "cổng chính", "date": "24/11/2026"},
        "tracking_id": KEY,
    }  # fmt: skip
    # English: its own template and the gate's English name; a late arrival uses the arrival's template
    assert isinstance(ch.send(notice("en", template="arrived_late")), Accepted)
    assert (
        zns.requests[1].body["template_id"] == "1002" and zns.requests[1].body["template_data"]["gate"] == "main gate"
    )
    # absent has only a Vietnamese template: an English reader gets it (ZNS templates are mostly Vietnamese)
    assert isinstance(ch.send(notice("en", template="absent")), Accepted)
    assert zns.requests[2].body["template_id"] == "1003"
    assert zns.requests[2].body["template_data"] == {"student_name": "Nguyễn Minh Anh", "cutoff": "07:45"}
    # no template for 'left': dead-lettered with the reason, nothing sent
    left = ch.send(notice(template="left"))
    assert isinstance(left, PermanentFailure) and "no ZNS template for 'left'" in left.reason
    assert len(zns.requests) == 3


def test_development_mode_phone_and_lengths(zns: LocalZnsService) -> None:
    dev = channel(zns.url, mode="development")
    long_name = "Tôn Nữ Hoàng Bảo Ngọc Minh Châu Khánh Linh"  # 41 characters: over the 30 of a customer name
    assert isinstance(dev.send(notice(name=long_name, phone="+84 912 345 678")), Accepted)
    body = zns.requests[0].body
    assert body["mode"] == "development" and body["phone"] == "84912345678"
    sent = body["template_data"]["student_name"]
    assert len(sent) == 30 and sent.endswith("…") and long_name.startswith(sent[:-1])
    assert zns.sent_today == 0  # development mode charges no quota
    # a school that registered the name as a longer type says so per parameter
    templates = {"arrived": {"vi": {**TEMPLATES["arrived"]["vi"], "limits": {"student_name": 50}}}}
    REGISTERED["1001"].params["student_name"] = 50
    try:
        assert isinstance(channel(zns.url, templates=templates).send(notice(name=long_name)), Accepted)
        assert zns.requests[1].body["template_data"]["student_name"] == long_name
    finally:
        REGISTERED["1001"].params["student_name"] = 30
    assert zns_phone("+84912345678") == "84912345678"
    assert isinstance(channel(zns.url).send(notice(phone=None)), PermanentFailure)


def test_errors_mapped_to_retry_or_dead_letter(zns: LocalZnsService) -> None:
    ok = channel(zns.url)
    expired = channel(zns.url, access_token="an-expired-token")
    out = expired.send(notice())
    assert isinstance(out, RetryAfter) and out.reason == "ZNS error -124: Access token invalid"
    bad_phone = ok.send(notice(phone="+8412"))
    assert isinstance(bad_phone, PermanentFailure) and "-108" in bad_phone.reason
    unknown = channel(zns.url, templates={"arrived": {"vi": {"template_id": "9999", "params": ARRIVED}}})
    got = unknown.send(notice())
    assert isinstance(got, PermanentFailure) and "-109" in got.reason
    pending = channel(
        zns.url, templates={"arrived": {"vi": {"template_id": "1004", "params": {"student_name": "name"}}}}
    )
    got = pending.send(notice())
    assert isinstance(got, PermanentFailure) and "-131" in got.reason  # template not approved yet
    zns.sent_today = zns.daily_quota
    over = ok.send(notice())
    assert isinstance(over, PermanentFailure) and "-144" in over.reason
    zns.sent_today = 0
    answers: list[tuple[int, dict[str, str], dict[str, Any] | bytes]] = [
        (200, {}, {"error": -115, "message": "Out of quota"}),
        (200, {}, {"error": -100, "message": "Unknown error"}),
        (200, {}, {"error": -999, "message": "something new"}),
        (429, {"Retry-After": "9"}, {"error": -1}),
        (502, {}, b"<html>bad gateway</html>"),
        (200, {}, b"not json"),
        (403, {}, {"error": -1}),
    ]
    zns.override = lambda _b: answers.pop(0) if answers else None
    quota = ok.send(notice())
    assert isinstance(quota, RetryAfter) and quota.seconds == 300.0 and "-115" in quota.reason
    assert isinstance(ok.send(notice()), RetryAfter)  # -100: "try again later"
    new = ok.send(notice())
    assert isinstance(new, RetryAfter) and "-999" in new.reason  # unknown: retried, bounded by max_attempts
    limited = ok.send(notice())
    assert isinstance(limited, RetryAfter) and limited.seconds == 9.0 and "429" in limited.reason
    assert isinstance(ok.send(notice()), RetryAfter)  # 502
    garbled = ok.send(notice())
    assert isinstance(garbled, RetryAfter) and "no JSON" in garbled.reason
    assert isinstance(ok.send(notice()), PermanentFailure)  # HTTP 403
    assert isinstance(ok.send(notice()), Accepted)
    down = channel(f"http://127.0.0.1:{free_port()}/message/template").send(notice())
    assert isinstance(down, RetryAfter)


DOCUMENTED: dict[int, tuple[str, float | None]] = {
    -100: ("retry", None),  # unknown error: "try again later"
    # -101…-112: app/OA setup, method, message id, phone number, template id, Zalo version, template data
    **{code: ("dead", None) for code in range(-112, -100)},
    -113: ("dead", None),  # button invalid
    -114: ("dead", None),  # user inactive / refuses ZNS
    -115: ("retry", 300.0),  # out of quota: the school tops up its ZNS balance
    -116: ("dead", None),  # text invalid
    -117: ("dead", None),  # OA/app may not use this template
    -118: ("dead", None),  # Zalo account not existed
    -119: ("dead", None),  # account cannot receive ZNS
    -124: ("retry", None),  # access token invalid (expired): a new token is put in place
    -131: ("dead", None),  # template not approved
    -133: ("retry", 600.0),  # outside the hours ZNS may be sent
    -139: ("dead", None),  # the user refused this kind of ZNS
    -144: ("dead", None),  # OA over its daily quota: tomorrow the notice is stale
    -147: ("dead", None),  # template over its daily quota
    -160: ("retry", None),  # a code this table does not know: retried, bounded by the notifier's max_attempts
}
"""Zalo's documented ZNS error codes (zalo.cloud "Cách xử lý mã lỗi") and what each must become, written out here
rather than read from the module, so a change to the module's sets is a failing test."""


@pytest.mark.parametrize("code", sorted(DOCUMENTED, reverse=True))
def test_each_documented_error_code_is_retried_or_dead_lettered(zns: LocalZnsService, code: int) -> None:
    zns.override = lambda _b: (200, {}, {"error": code, "message": f"error {code}"})
    out = channel(zns.url).send(notice())
    action, seconds = DOCUMENTED[code]
    if action == "dead":
        assert isinstance(out, PermanentFailure) and f"ZNS error {code}" in out.reason, out
    else:
        assert isinstance(out, RetryAfter) and out.seconds == seconds and f"ZNS error {code}" in out.reason, out
    assert zns.received == [] and len(zns.requests) == 1, "refused, and the request was made as documented"


def test_tracking_id_is_the_idempotency_key(zns: LocalZnsService) -> None:
    ch = channel(zns.url)
    assert isinstance(ch.send(notice()), Accepted) and isinstance(ch.send(notice()), Accepted)
    assert [r.body["tracking_id"] for r in zns.requests] == [KEY, KEY]  # a retry carries the same key
    assert zns.duplicates == 1  # Zalo keeps it for reconciliation; it does not drop a repeat (not idempotent)
    assert not ch.honours_idempotency
    long_key = "s1/" + "p" * 60 + "/2026-11-24/arrived/" + "g" * 60
    tid = tracking_id(long_key)
    assert len(tid) <= 48 and tid == tracking_id(long_key) and tid != tracking_id(long_key + "x")
    assert isinstance(ch.send(notice(key=long_key)), Accepted)
    assert zns.requests[-1].body["tracking_id"] == tid


def test_config_and_guardians_rules(tmp_path: Path) -> None:
    base = {"name": "zalo", "type": "zalo_zns", "access_token": TOKEN}
    with pytest.raises(ValueError, match="unknown fields"):
        bad = {"arrived": {"vi": {"template_id": "1", "params": {"x": "phone"}}}}
        ZaloZnsChannel.model_validate({**base, "templates": bad})
    with pytest.raises(ValueError, match="at least one"):
        ZaloZnsChannel.model_validate({**base, "templates": {}})
    with pytest.raises(ValueError, match="limits name parameters"):
        ZaloZnsChannel.model_validate({**base, "templates": {"absent": {"vi": {
            "template_id": "1", "params": {"a": "name"}, "limits": {"b": 10}}}}})  # fmt: skip
    channels = {"zalo": "zalo_zns", "push": "webpush"}
    with pytest.raises(GuardiansError, match="sends Zalo messages: phone is required"):
        parse_guardians("person_id,name,phone,email,channel,language,kinds\np1,Lan,,,zalo,vi,\n", channels=channels)
    ok = parse_guardians(
        "person_id,name,phone,email,channel,language,kinds\np1,Lan,0912 345 678,,zalo,vi,\np1,Hùng,,,push,en,\n",
        channels=channels,
    )
    assert [(g.channel, g.phone) for g in ok] == [("zalo", "+84912345678"), ("push", None)]  # Web Push: by id


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_checkin_to_zns_request(
    engine: str, tmp_path: Path, zns: LocalZnsService, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path}/c.sqlite" if engine == "sqlite" else request.getfixturevalue("postgres").fresh_database()
    )
    (tmp_path / "roster.csv").write_text("person_id,name,class,card_uid\nminh_anh,Nguyễn Minh Anh,6A,\n")
    (tmp_path / "guardians.csv").write_text(
        "person_id,name,phone,email,channel,language,kinds\nminh_anh,Bình,0912 345 678,,zalo,vi,arrived\n"
    )
    today = datetime.now(UTC).date()
    text = f"""
schools:
  - id: s1
    name: Trường A
    timezone: UTC
    roster: roster.csv
    guardians: guardians.csv
    calendar:
      weekdays: [mon, tue, wed, thu, fri, sat, sun]
      cutoff: "24:00"
      terms: [{{name: T, start: {today}, end: {today}}}]
    gates: {{main-in: {{vi: cổng chính, en: main gate}}}}
    channels:
      - name: zalo
        type: zalo_zns
        url: {zns.url}
        access_token: ${{EDGE_ZALO_TOKEN}}
        templates:
          arrived:
            vi: {{template_id: "1001", params: {{student_name: name, class: class_name, arrival_time: time,
                                                  gate: gate, date: day}}}}
notify: {{poll_s: 0.1}}
"""
    with pytest.raises(ConfigError):
        parse_central_text(text, env={}, base_dir=tmp_path)  # the token comes from the environment
    cfg = parse_central_text(text, env={"EDGE_ZALO_TOKEN": TOKEN}, base_dir=tmp_path)
    store = open_store(url)
    notifier = Notifier(cfg.notify, load_directories(cfg), lambda: connect(url))
    notifier.start()
    try:
        at = datetime.now(UTC).replace(hour=7, minute=12, second=0, microsecond=0)
        event = {"schema_version": 1, "event_id": "e1", "site_id": "s1", "gateway_id": "gw", "gate": "main-in",
                 "direction": "in", "occurred_at": at.isoformat().replace("+00:00", "Z"), "seq": 1, "method": "card",
                 "person_id": "minh_anh", "decision": "granted"}  # fmt: skip
        store.store_batch([event], on_stored=NotifyHook(load_directories(cfg)))
        assert zns.wait_for(1, 30)
        wait_until(lambda: notifier.counters["sent"] == 1, 30, "the job recorded as sent")
    finally:
        notifier.stop()
        store.close()
    assert zns.requests[0].body["template_data"] == {
        "student_name": "Nguyễn Minh Anh", "class": "6A", "arrival_time": "07:12", "gate": "cổng chính",
        "date": f"{today:%d/%m/%Y}",
    }  # fmt: skip
    assert zns.requests[0].body["tracking_id"] == f"s1/minh_anh/{today}/arrived/minh_anh-g1"
    conn, dialect = connect(url)
    try:
        (row,) = q.notices_of(conn, dialect, "s1", "minh_anh")
    finally:
        conn.close()
    assert row["status"] == "sent" and row["channel"] == "zalo"
