"""Channels against real local receivers: webhook (HMAC signature checked by the server, Idempotency-Key), email
(aiosmtpd with STARTTLS and a self-signed certificate), SMS over a generic HTTP gateway, MQTT on the real broker;
messages in both languages; rate limits."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from edge.central.notify.channels import Accepted, PermanentFailure, RateLimiter, RetryAfter, build_channel
from edge.central.notify.channels.sms_http import segments, sms_text, without_diacritics
from edge.central.notify.channels.webhook import sign
from edge.central.notify.messages import Messages, Notice
from edge.central.notify.receivers import HttpReceiver, SmtpReceiver, free_port
from edge.config.central import EmailChannel, MqttChannel, SchoolConfig, SmsHttpChannel, WebhookChannel
from edge.devtools.mosquitto import MosquittoBroker
from tests.helpers import Watcher

SECRET = "s3cret-s3cret-s3cret"
SCHOOL = SchoolConfig.model_validate(
    {
        "id": "s1",
        "name": "Trường THCS A",
        "calendar": {"terms": [{"name": "T1", "start": date(2026, 9, 5), "end": date(2027, 1, 16)}]},
        "gates": {"main-in": {"vi": "cổng chính", "en": "main gate"}},
        "templates": {"en": {"absent": "{name} ({class_name}) is not at {school} by {time}."}},
    }
)


def notice(language: str = "en", *, key: str = "s1/minh_anh/2026-11-24/arrived/g1", **kw: Any) -> Notice:
    template = kw.pop("template", "arrived")
    text, subject = Messages(SCHOOL).render(
        template, language, name="Minh Anh", class_name="6A", time="07:12", gate="main-in", cutoff="07:45"
    )
    base: dict[str, Any] = {
        "key": key,
        "site": "s1",
        "guardian_id": "minh_anh-g1",
        "person_id": "minh_anh",
        "kind": "arrived",
        "template": template,
        "day": date(2026, 11, 24),
        "time": "07:12",
        "language": language,
        "text": text,
        "subject": subject,
        "phone": "+84912345678",
        "email": "binh@example.com",
    }
    base.update(kw)
    return Notice(**base)


# messages -------------------------------------------------------------------------------------------------
def test_messages_in_both_languages() -> None:
    m = Messages(SCHOOL)
    fields = {"name": "Minh Anh", "class_name": "6A", "time": "07:12", "gate": "main-in", "cutoff": "07:45"}
    assert m.render("arrived", "en", **fields)[0] == "Minh Anh (6A) arrived at school at 07:12 (main gate)."
    assert m.render("arrived", "vi", **fields)[0] == "Minh Anh (6A) đã đến trường lúc 07:12 (cổng chính)."
    late = {**fields, "time": "08:03"}
    assert m.render("arrived_late", "en", **late)[0] == "Minh Anh (6A) arrived late at school at 08:03 (main gate)."
    assert m.render("arrived_late", "vi", **late)[0] == "Minh Anh (6A) đã đến trường muộn lúc 08:03 (cổng chính)."
    absent = {**fields, "time": "07:45"}
    assert m.render("absent", "vi", **absent)[0] == "Minh Anh (6A) chưa đến trường tính đến 07:45."
    # the school's override
    assert m.render("absent", "en", **absent)[0] == "Minh Anh (6A) is not at Trường THCS A by 07:45."
    # an unnamed gate shows its id
    assert m.render("left", "en", **{**fields, "gate": "side-2"})[0] == "Minh Anh (6A) left school at 07:12 (side-2)."
    payload = notice().payload()
    assert "phone" not in payload and "email" not in payload and payload["idempotency_key"].startswith("s1/")


# webhook --------------------------------------------------------------------------------------------------
@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    r = HttpReceiver(secret=SECRET, dedupe=True)
    yield r
    r.close()


def webhook(url: str, secret: str = SECRET) -> Any:
    return build_channel(WebhookChannel(name="app", type="webhook", url=url, secret=secret, timeout_s=5), "s1")


def test_webhook_signed_and_idempotent(http: HttpReceiver) -> None:
    ch = webhook(http.url)
    assert ch.honours_idempotency
    out = ch.send(notice("vi"))
    assert isinstance(out, Accepted) and out.detail.startswith("HTTP 200")
    assert http.distinct == 1
    got = http.received[0]
    assert got.headers["Idempotency-Key"] == "s1/minh_anh/2026-11-24/arrived/g1"
    assert got.body["text"] == "Minh Anh (6A) đã đến trường lúc 07:12 (cổng chính)."
    assert got.body["language"] == "vi" and got.body["kind"] == "arrived"
    ts = got.headers["X-Edge-Timestamp"]
    assert got.headers["X-Edge-Signature"] == sign(SECRET, ts, json.dumps(got.body, ensure_ascii=False,
                                                                          sort_keys=True).encode())  # fmt: skip
    # a repeat of the same key (crash between sent and recorded) is accepted but not delivered twice
    assert isinstance(ch.send(notice("vi")), Accepted)
    assert http.distinct == 1 and http.repeats_dropped == 1 and http.duplicates == 0


def test_webhook_wrong_secret_is_refused(http: HttpReceiver) -> None:
    out = webhook(http.url, secret="another-secret-entirely").send(notice())
    assert isinstance(out, PermanentFailure) and "401" in out.reason
    assert http.rejected_signatures == 1 and http.distinct == 0


def test_webhook_answers_mapped(http: HttpReceiver) -> None:
    answers = iter([(429, {"Retry-After": "7"}), (503, {}), (400, {}), None])
    http.responder = lambda _b, _h: next(answers)
    ch = webhook(http.url)
    first = ch.send(notice())
    assert isinstance(first, RetryAfter) and first.seconds == 7.0 and "429" in first.reason
    second = ch.send(notice())
    assert isinstance(second, RetryAfter) and second.seconds is None and "503" in second.reason
    assert isinstance(ch.send(notice()), PermanentFailure)
    assert isinstance(ch.send(notice()), Accepted)
    down = webhook(f"http://127.0.0.1:{free_port()}/").send(notice())
    assert isinstance(down, RetryAfter) and "refused" in down.reason.lower()


# email ----------------------------------------------------------------------------------------------------
@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver()
    yield r
    r.close()


def mail(smtp: SmtpReceiver, **kw: Any) -> Any:
    cfg = EmailChannel(
        name="email",
        type="email",
        host="127.0.0.1",
        port=smtp.port,
        cafile=str(smtp.cafile),
        sender="Trường THCS A <diemdanh@school.example>",
        timeout_s=10,
        **kw,
    )
    return build_channel(cfg, "s1")


def test_email_starttls_text_and_html(smtp: SmtpReceiver) -> None:
    ch = mail(smtp)
    assert not ch.honours_idempotency
    assert isinstance(ch.send(notice("vi")), Accepted)
    assert smtp.wait_for(1, 10)
    got = smtp.received[0]
    assert got.body["tls"] is True
    assert got.body["to"] == ["binh@example.com"]
    assert got.body["text"] == "Minh Anh (6A) đã đến trường lúc 07:12 (cổng chính)."
    assert "Minh Anh (6A) đã đến trường lúc 07:12 (cổng chính)." in got.body["html"]
    assert got.body["subject"] == "Minh Anh đã đến trường" and got.body["language"] == "vi"
    assert got.key == "s1/minh_anh/2026-11-24/arrived/g1"


def test_email_refused_recipient_and_server_down(smtp: SmtpReceiver) -> None:
    smtp.refuse.add("nobody@example.com")
    out = mail(smtp).send(notice(email="nobody@example.com"))
    assert isinstance(out, PermanentFailure) and "550" in out.reason
    smtp.stop()
    down = mail(smtp).send(notice())
    assert isinstance(down, RetryAfter)
    smtp.start()
    assert isinstance(mail(smtp).send(notice()), Accepted)
    assert smtp.distinct == 1


def test_email_untrusted_certificate_is_not_used(smtp: SmtpReceiver) -> None:
    cfg = EmailChannel(name="e", type="email", host="127.0.0.1", port=smtp.port, sender="a@b.example", timeout_s=5)
    out = build_channel(cfg, "s1").send(notice())  # the system CAs do not know the self-signed certificate
    assert isinstance(out, RetryAfter) and "CERTIFICATE_VERIFY_FAILED" in out.reason
    assert smtp.distinct == 0


# SMS ------------------------------------------------------------------------------------------------------
def test_sms_text_and_segments() -> None:
    vi = "Nguyễn Đức Minh Anh (6A) đã đến trường lúc 07:12 (cổng chính)."
    assert without_diacritics(vi) == "Nguyen Duc Minh Anh (6A) da den truong luc 07:12 (cong chinh)."
    assert segments(without_diacritics(vi)) == 1
    assert segments("ệ" * 70) == 1 and segments("ệ" * 71) == 2 and segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    cut = sms_text("x" * 300, ascii_only=True, max_chars=160)
    assert len(cut) == 160 and cut.endswith("...")


def test_sms_gateway(tmp_path: Any) -> None:
    gw = HttpReceiver(key_field="ref")
    gw.responder = lambda body, h: (400, {}) if body["to"] == "+84999999999" else None
    try:
        cfg = SmsHttpChannel(
            name="sms",
            type="sms_http",
            url=gw.url,
            headers={"Authorization": "Bearer tok"},
            body_template='{"to": $to, "message": {"body": $text}, "ref": $key}',
            ascii=True,
            timeout_s=5,
        )
        ch = build_channel(cfg, "s1")
        assert not ch.honours_idempotency
        assert isinstance(ch.send(notice("vi")), Accepted)
        got = gw.received[0]
        assert got.body == {
            "to": "+84912345678",
            "message": {"body": "Minh Anh (6A) da den truong luc 07:12 (cong chinh)."},
            "ref": "s1/minh_anh/2026-11-24/arrived/g1",
        }
        assert got.headers["Authorization"] == "Bearer tok"
        bad = ch.send(notice(phone="+84999999999"))
        assert isinstance(bad, PermanentFailure) and "400" in bad.reason
        assert isinstance(ch.send(notice(phone=None)), PermanentFailure)
        keyed = build_channel(cfg.model_copy(update={"idempotency_header": "X-Request-Id"}), "s1")
        assert keyed.honours_idempotency
    finally:
        gw.close()


# MQTT -----------------------------------------------------------------------------------------------------
def mqtt_cfg(broker: MosquittoBroker) -> MqttChannel:
    files = broker.identity("notifier", "server")  # the closed broker: a client certificate for the notifier
    assert files is not None
    return MqttChannel(
        name="push", type="mqtt", host="127.0.0.1", port=broker.port, timeout_s=10,
        ca=str(files.ca), cert=str(files.cert), key=str(files.key),
    )  # fmt: skip


def test_mqtt_publishes_to_guardian_topic(broker: MosquittoBroker, watcher: Watcher) -> None:
    site = broker.site  # a server identity writes its own site's notify/# only
    ch = build_channel(mqtt_cfg(broker), site)
    try:
        out = ch.send(notice("en", site=site))
        assert isinstance(out, Accepted) and f"edge/v1/{site}/notify/minh_anh-g1" in out.detail
        topic, payload = watcher.wait_for(lambda t, _p: "/notify/" in t, 10, "the notice on MQTT")
        assert topic == f"edge/v1/{site}/notify/minh_anh-g1"
        body = json.loads(payload)
        assert body["text"] == "Minh Anh (6A) arrived at school at 07:12 (main gate)."
        assert body["idempotency_key"] == "s1/minh_anh/2026-11-24/arrived/g1"
    finally:
        ch.close()


def test_mqtt_broker_down_is_retry(broker: MosquittoBroker) -> None:
    cfg = mqtt_cfg(broker).model_copy(update={"port": free_port(), "timeout_s": 0.5})
    ch = build_channel(cfg, "s1")
    try:
        out = ch.send(notice())
        assert isinstance(out, RetryAfter) and "not connected" in out.reason
    finally:
        ch.close()


# rate limits ----------------------------------------------------------------------------------------------
def test_rate_limiter_burst_then_rate() -> None:
    now = [0.0]
    lim = RateLimiter(rate_per_s=10, burst=3, clock=lambda: now[0])
    assert [lim.reserve() for _ in range(5)] == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])  # burst, then 10/s
    stop = threading.Event()
    stop.set()
    assert not lim.acquire(stop), "the sixth token waits behind the fourth and fifth (a set stop ends the wait)"
    now[0] += 0.6  # the bucket refills (to its burst, no more): the next send needs no wait
    assert [lim.acquire(stop) for _ in range(4)] == [True, True, True, False]
