"""No poison notice: a notice that cannot be rendered or sent is dead-lettered with its reason and the channel's
loop goes on (the notifier once stopped every channel and exited 3 on a Subject holding CR LF, and crash-looped
each time the job's lease expired). Run against a real SMTP server (STARTTLS) and real HTTP receivers, on SQLite
and PostgreSQL; hypothesis properties over every field that reaches a message, a header or a file name."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from datetime import date
from email import message_from_string
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.central.attendance.downloads import filename
from edge.central.notify import jobs as q
from edge.central.notify.channels import Accepted, Channel, Outcome, PermanentFailure, build_channel
from edge.central.notify.channels.email import Email
from edge.central.notify.directory import load_directories
from edge.central.notify.hook import connect
from edge.central.notify.messages import Messages, Notice
from edge.central.notify.planner import JobSpec, job_key
from edge.central.notify.receivers import HttpReceiver, SmtpReceiver, free_port
from edge.central.notify.worker import Notifier
from edge.config.central import EmailChannel, SchoolConfig, SmsHttpChannel, WebhookChannel, parse_central_text
from edge.control_chars import first_forbidden
from tests.helpers import fuzz_examples, wait_until

SECRET = "s3cret-s3cret-s3cret"
DAY = date(2026, 11, 24)
INJECTION = "Eve\r\nBcc: attacker@evil.example"


def central_yaml(smtp: SmtpReceiver, webhook_url: str) -> str:
    return f"""
schools:
  - id: s1
    name: Trường A
    calendar: {{terms: [{{name: T1, start: 2026-09-05, end: 2027-01-16}}]}}
    gates: {{main-in: {{vi: cổng chính, en: main gate}}}}
    channels:
      - {{name: email, type: email, host: 127.0.0.1, port: {smtp.port}, cafile: "{smtp.cafile}",
         sender: diemdanh@school.example, timeout_s: 10, rate_per_s: 1000, burst: 1000}}
      - {{name: app, type: webhook, url: "{webhook_url}", secret: {SECRET}, timeout_s: 10,
         rate_per_s: 1000, burst: 1000}}
notify: {{max_attempts: 3, backoff_initial_s: 0.05, backoff_max_s: 0.2, poll_s: 0.05, lease_s: 30}}
"""


def spec(channel: str, person: str, name: str, *, email: str | None = None) -> JobSpec:
    """A queued notice as the planner makes it (queued before this version refused control characters)."""
    guardian = f"{person}-{channel}"
    text = f"{name} (6A) arrived at school at 07:12 (main gate)."
    return JobSpec(
        job_key("s1", person, DAY, "arrived", guardian), "s1", person, DAY, "arrived", guardian, channel, "en",
        "arrived", "07:12", text, f"{name} arrived", None, None, email,
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    from edge.central.store import open_store

    url = (
        f"sqlite:///{tmp_path}/central.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres").fresh_database()
    )
    open_store(url).close()  # the migrations make the notify tables
    yield url


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver()
    yield r
    r.close()


def enqueue(url: str, jobs: list[JobSpec]) -> None:
    conn, dialect = connect(url)
    try:
        with q.transaction(conn, dialect):
            assert q.enqueue(q.ConnTx(conn, dialect), jobs) == len(jobs)
    finally:
        conn.close()


def job_states(url: str) -> dict[str, tuple[str, str | None]]:
    conn, _dialect = connect(url)
    try:
        rows = conn.execute("SELECT key, status, last_error FROM notify_jobs").fetchall()
    finally:
        conn.close()
    return {r[0]: (r[1], r[2]) for r in rows}


class Raising:
    """A test adapter around a real channel that raises for one person's notices (a channel bug on one input)."""

    def __init__(self, inner: Channel, person: str) -> None:
        self.inner, self.person = inner, person
        self.name, self.honours_idempotency, self.limiter = inner.name, inner.honours_idempotency, inner.limiter

    def send(self, notice: Notice) -> Outcome:
        if notice.person_id == self.person:
            raise RuntimeError(f"bug on {notice.person_id}")
        return self.inner.send(notice)

    def close(self) -> None:
        self.inner.close()


def test_poisoned_notices_are_dead_lettered_and_every_other_parent_is_told(
    store_url: str, smtp: SmtpReceiver, tmp_path: Path
) -> None:
    app = HttpReceiver(secret=SECRET, dedupe=True)
    cfg = parse_central_text(central_yaml(smtp, app.url), env={}, base_dir=tmp_path)
    d = load_directories(cfg)
    channels = {("s1", c.name): build_channel(c, "s1") for c in cfg.schools[0].channels}
    channels[("s1", "app")] = Raising(channels[("s1", "app")], "buggy")
    poison = [
        spec("email", "eve", INJECTION, email="eve-parent@example.com"),
        spec("email", "sep", "Eve\u2028Bcc: attacker@evil.example", email="sep-parent@example.com"),
        spec("email", "addr", "Addr", email="a@example.com\r\nBcc: attacker@evil.example"),
        spec("app", "buggy", "Buggy"),
    ]
    enqueue(store_url, poison)
    notifier = Notifier(cfg.notify, d, lambda: connect(store_url), channels=channels)
    notifier.start()
    try:
        wait_until(lambda: notifier.counters["dead"] == 4, 30, "the poisoned notices dead-lettered")
        # the loop goes on: notices queued afterwards are delivered; a key holding CR LF (a person id from an old
        # roster) is sent with its Idempotency-Key percent-encoded, not a broken header
        later = [
            spec("email", "an", "Nguyễn An", email="an-parent@example.com"),
            spec("app", "an", "Nguyễn An"),
            spec("app", "eve\r\nX-Evil: 1", "Eve"),
        ]
        enqueue(store_url, later)
        assert smtp.wait_for(1, 30) and app.wait_for(2, 30)
        wait_until(lambda: notifier.counters["sent"] == 3, 30, "the later notices recorded as sent")
    finally:
        notifier.stop()
        app.close()
    assert notifier.errors == [] and notifier.counters["dead"] == 4
    states = job_states(store_url)
    reasons = {k: v[1] or "" for k, v in states.items() if v[0] == "dead"}
    assert set(reasons) == {p.key for p in poison}
    assert "subject holds a control character (U+000D)" in reasons[poison[0].key]
    assert "subject holds a control character (U+2028 LINE SEPARATOR)" in reasons[poison[1].key]
    assert "email address holds a control character (U+000D)" in reasons[poison[2].key]
    assert reasons[poison[3].key] == "permanent: cannot be rendered or sent: RuntimeError: bug on buggy"
    assert {k for k, v in states.items() if v[0] == "sent"} == {j.key for j in later}
    # nothing was injected: one mail, to its one recipient, no Bcc
    (mail,) = smtp.received
    assert mail.body["to"] == ["an-parent@example.com"] and "Bcc" not in mail.headers
    keys = {urllib.parse.unquote(r.headers["Idempotency-Key"]) for r in app.received}
    assert keys == {later[1].key, later[2].key}
    assert all("X-Evil" not in r.headers for r in app.received)


class NulAnswer(BaseHTTPRequestHandler):
    """A provider whose error body holds a NUL (PostgreSQL refuses NUL in text)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"error": "bad\x00number"}'
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


def test_an_answer_holding_a_nul_is_recorded(store_url: str, smtp: SmtpReceiver, tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), NulAnswer)
    thread = threading.Thread(target=server.serve_forever, name="nul-provider")
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    cfg = parse_central_text(central_yaml(smtp, url), env={}, base_dir=tmp_path)
    enqueue(store_url, [spec("app", "an", "An"), spec("app", "binh", "Bình")])
    notifier = Notifier(cfg.notify, load_directories(cfg), lambda: connect(store_url))
    notifier.start()
    try:
        wait_until(lambda: notifier.counters["dead"] == 2, 30, "both answers recorded")
    finally:
        notifier.stop()
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert notifier.errors == []
    assert all(
        v == ("dead", 'permanent: HTTP 400 {"error": "bad\ufffdnumber"}') for v in job_states(store_url).values()
    )


# properties: every field that reaches a message, a header or a file name --------------------------------------
SCHOOL = SchoolConfig.model_validate(
    {
        "id": "s1",
        "name": "Trường THCS A",
        "calendar": {"terms": [{"name": "T1", "start": date(2026, 9, 5), "end": date(2027, 1, 16)}]},
        "gates": {"main-in": {"vi": "cổng chính", "en": "main gate"}},
    }
)
ANY = st.text(max_size=30)
"""Any text at all (hypothesis's default alphabet: every code point but surrogates), controls included."""
HTTP_HEADERS = {"host", "accept-encoding", "user-agent", "connection", "content-type", "content-length",
                "x-edge-timestamp", "x-edge-signature", "idempotency-key"}  # fmt: skip
PROPS = settings(
    max_examples=fuzz_examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def rendered(name: str, class_name: str, gate: str, key: str, **kw: Any) -> Notice:
    text, subject = Messages(SCHOOL).render(
        "arrived", "en", name=name, class_name=class_name, time="07:12", gate=gate, cutoff="07:45"
    )
    base: dict[str, Any] = {"key": key, "site": "s1", "guardian_id": "g1", "person_id": "p", "kind": "arrived",
                            "template": "arrived", "day": DAY, "time": "07:12", "language": "en", "text": text,
                            "subject": subject, "phone": "+84912345678", "email": "parent@example.com"}  # fmt: skip
    base.update(kw)
    return Notice(**base)


def words(text: str) -> list[str]:
    return text.split()


def lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@PROPS
@given(name=ANY, class_name=ANY, gate=ANY, key=ANY, local=st.sampled_from(["parent", "me.an", "x+tag"]), bad=ANY)
def test_email_never_raises_and_never_adds_a_header(
    smtp: SmtpReceiver, name: str, class_name: str, gate: str, key: str, local: str, bad: str
) -> None:
    ch = Email(EmailChannel(name="email", type="email", host="127.0.0.1", port=smtp.port, cafile=str(smtp.cafile),
                            sender="diemdanh@school.example", timeout_s=10))  # fmt: skip
    address = f"{local}{bad if first_forbidden(bad) else ''}@example.com"
    notice = rendered(name, class_name, gate, key, email=address)
    before = len(smtp.received)
    out = ch.send(notice)
    if first_forbidden(notice.subject) or first_forbidden(address):
        assert isinstance(out, PermanentFailure) and "control character" in out.reason
        assert len(smtp.received) == before
        return
    assert isinstance(out, Accepted), out
    assert len(smtp.received) == before + 1
    got = smtp.received[-1]
    assert got.body["to"] == [address] and "Bcc" not in got.headers
    assert words(got.body["subject"]) == words(notice.subject)  # a header's folding may re-space it
    assert lines(got.body["text"]) == lines(notice.text).strip()  # line breaks are CR LF on the wire
    folded = got.headers["Idempotency-Key"]  # a long header is folded: its whitespace is not part of it
    assert urllib.parse.unquote("".join(folded.split())) == key
    # the raw message: every header line is one the channel wrote (no injected field)
    raw = ch.message(notice).as_string(policy=email_policy)
    names = {line.split(":", 1)[0] for line in raw.split("\n\n", 1)[0].splitlines() if line and line[0] not in " \t"}
    assert names <= {"From", "To", "Subject", "Message-ID", "Idempotency-Key", "MIME-Version", "Content-Type",
                     "Content-Language"}  # fmt: skip
    assert message_from_string(raw, policy=email_policy)["To"] == address


@PROPS
@given(name=ANY, class_name=ANY, gate=ANY, key=ANY)
def test_webhook_and_sms_never_raise_and_carry_every_text_exactly(
    name: str, class_name: str, gate: str, key: str
) -> None:
    http = HttpReceiver(secret=SECRET)
    sms = HttpReceiver(key_field="ref")
    try:
        notice = rendered(name, class_name, gate, key)
        hook = build_channel(WebhookChannel(name="app", type="webhook", url=http.url, secret=SECRET), "s1")
        assert isinstance(hook.send(notice), Accepted)
        (got,) = http.received
        assert got.body["text"] == notice.text and got.body["idempotency_key"] == key
        assert urllib.parse.unquote(got.headers["Idempotency-Key"]) == key
        assert {h.lower() for h in got.headers} == HTTP_HEADERS  # none added, none lost
        cfg = SmsHttpChannel(name="sms", type="sms_http", url=sms.url, idempotency_header="X-Request-Id",
                             body_template='{"to": $to, "text": $text, "ref": $key}')  # fmt: skip
        assert isinstance(build_channel(cfg, "s1").send(notice), Accepted)
        (msg,) = sms.received
        assert msg.body == {"to": "+84912345678", "text": notice.text, "ref": key}
        assert urllib.parse.unquote(msg.headers["X-Request-Id"]) == key
    finally:
        http.close()
        sms.close()


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(school=ANY, class_name=ANY, layout=st.sampled_from(["days", "summary"]))
def test_download_file_names_are_plain(school: str, class_name: str, layout: str) -> None:
    name = filename(school, DAY, DAY, [class_name], layout, "csv")
    assert first_forbidden(name) is None
    assert not set(name) & set('"\\/;') and not name.startswith(".") and name.endswith(".csv")
