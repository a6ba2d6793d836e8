"""Fault runs, counted at the receiving servers: the SMTP server down during the morning peak then back (every
notice once); the notifier killed with SIGKILL mid-batch and restarted (none lost; a repeat only where the channel
has no idempotency, counted); a 4xx from the SMS gateway (dead-lettered with the reason, the others unaffected)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.central.notify import jobs as q
from edge.central.notify.directory import load_directories
from edge.central.notify.hook import NotifyHook, connect
from edge.central.notify.receivers import HttpReceiver, SmtpReceiver
from edge.central.notify.worker import Notifier
from edge.central.school.files import import_central
from edge.central.store import CheckinStore, open_store
from edge.central.web.db import WebDb
from edge.config.central import CentralConfig, load_central_config
from tests.helpers import wait_until

SECRET = "webhook-secret-0123456789"
REPO = Path(__file__).resolve().parent.parent


def school(tmp: Path, n: int, channels: list[dict[str, Any]], guardians: list[tuple[str, str, str]],
           notify: dict[str, Any]) -> Path:  # fmt: skip
    """A school of n students; each gets one guardian per (channel, language, contact pattern) entry."""
    (tmp / "roster.csv").write_text(
        "person_id,name,class,card_uid\n" + "".join(f"p{i:04d},Học Sinh {i},6A,\n" for i in range(n))
    )
    rows = ["person_id,name,phone,email,channel,language,kinds"]
    for i in range(n):
        for channel, language, contact in guardians:
            phone = f"09{12000000 + i:08d}" if contact == "phone" else ""
            email = f"parent{i}@example.com" if contact == "email" else ""
            rows.append(f"p{i:04d},Phụ huynh {i},{phone},{email},{channel},{language},arrived")
    (tmp / "guardians.csv").write_text("\n".join(rows) + "\n")
    today = datetime.now(UTC).date()
    data = {
        "schools": [{
            "id": "s1", "name": "Trường", "timezone": "UTC", "roster": "roster.csv", "guardians": "guardians.csv",
            "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "cutoff": "24:00",
                         "terms": [{"name": "T", "start": str(today - timedelta(days=1)),
                                    "end": str(today + timedelta(days=1))}]},
            "channels": channels,
        }],
        "notify": {"poll_s": 0.1, "backoff_initial_s": 0.2, "backoff_max_s": 1.0, **notify},
    }  # fmt: skip
    path = tmp / "central.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def arrive(store: CheckinStore, cfg: CentralConfig, people: range) -> None:
    """Check-ins stored the collector's way: batches with the notify hook in their transaction."""
    hook = NotifyHook(load_directories(cfg))
    now = datetime.now(UTC)
    events = [
        {"schema_version": 1, "event_id": f"e{i}", "site_id": "s1", "gateway_id": "gw", "gate": "main-in",
         "direction": "in", "occurred_at": now.isoformat().replace("+00:00", "Z"), "seq": i, "method": "card",
         "person_id": f"p{i:04d}", "decision": "granted"}
        for i in people
    ]  # fmt: skip
    for start in range(0, len(events), 25):
        store.store_batch(events[start : start + 25], on_stored=hook)
        store.store_batch(events[start : start + 5], on_stored=hook)  # redelivered: nothing new


def counts(url: str) -> dict[tuple[str, str], int]:
    conn, dialect = connect(url)
    try:
        return {(c, s): n for _k, c, s, n in q.status(conn, dialect).counts}
    finally:
        conn.close()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver()
    yield r
    r.close()


def test_smtp_down_during_the_peak_then_back(tmp_path: Path, smtp: SmtpReceiver) -> None:
    n = 60
    email = {"name": "email", "type": "email", "host": "127.0.0.1", "port": smtp.port, "cafile": str(smtp.cafile),
             "sender": "diemdanh@school.example", "rate_per_s": 200, "burst": 50}  # fmt: skip
    cfg = load_central_config(school(tmp_path, n, [email], [("email", "en", "email")], {"max_attempts": 30}))
    url = f"sqlite:///{tmp_path}/central.sqlite"
    store = open_store(url)
    notifier = Notifier(cfg.notify, load_directories(cfg), lambda: connect(url))
    notifier.start()
    try:
        arrive(store, cfg, range(0, 20))
        assert smtp.wait_for(20, 30)
        smtp.stop()  # the mail server goes away in the middle of the morning peak
        arrive(store, cfg, range(20, n))
        wait_until(lambda: notifier.counters["retried"] >= 3, 30, "failed attempts while SMTP is down")
        smtp.start()
        assert smtp.wait_for(n, 60), f"{smtp.distinct} of {n} delivered"
        wait_until(lambda: counts(url).get(("email", "sent")) == n, 30, "every job recorded as sent")
    finally:
        notifier.stop()
        store.close()
    print(f"\nSMTP outage: {n} notices, {smtp.distinct} delivered, {smtp.duplicates} duplicated, "
          f"{notifier.counters['retried']} failed attempts, {notifier.counters['dead']} dead")  # fmt: skip
    assert smtp.distinct == n and smtp.duplicates == 0 and notifier.counters["dead"] == 0


def test_kill_9_mid_batch_loses_nothing(tmp_path: Path, smtp: SmtpReceiver) -> None:
    n = 120
    app = HttpReceiver(secret=SECRET, dedupe=True)
    never = threading.Event()

    def slow_provider(_body: dict[str, Any], _headers: dict[str, str]) -> None:
        never.wait(0.04)  # a provider taking 40 ms to answer: a kill -9 lands mid-send now and then

    app.responder = slow_provider
    channels = [
        {"name": "app", "type": "webhook", "url": app.url, "secret": SECRET, "rate_per_s": 25, "burst": 1},
        {"name": "email", "type": "email", "host": "127.0.0.1", "port": smtp.port, "cafile": str(smtp.cafile),
         "sender": "diemdanh@school.example", "rate_per_s": 25, "burst": 1},
    ]  # fmt: skip
    path = school(tmp_path, n, channels, [("app", "vi", ""), ("email", "en", "email")], {"lease_s": 2})
    cfg = load_central_config(path)
    url = f"sqlite:///{tmp_path}/central.sqlite"
    store = open_store(url)
    arrive(store, cfg, range(n))
    store.close()
    web = WebDb(url)  # the notifier runs on the school as the store holds it (`edge school import`)
    try:
        import_central(web, cfg, today=date(2026, 9, 1))
    finally:
        web.close()
    cmd = [sys.executable, "-m", "edge", "notify", "run", "-c", str(path), "--store", url]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    kills = 0
    try:
        for target in (30, 70):  # kill -9 twice, mid-batch, then let it finish
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def reached(t: int = target) -> bool:
                return app.distinct >= t and smtp.distinct >= t

            try:
                wait_until(reached, 60, f"{target} delivered")
                if kills == 0:  # SQLite: a second notifier is refused while one runs
                    second = subprocess.run(cmd, env=env, capture_output=True, timeout=120, check=False)
                    assert second.returncode == 2 and b"SQLite: one notifier" in second.stderr
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            kills += 1
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert app.wait_for(n, 90) and smtp.wait_for(n, 90), f"app {app.distinct}, email {smtp.distinct} of {n}"
            wait_until(lambda: counts(url) == {("app", "sent"): n, ("email", "sent"): n}, 30, "all recorded sent")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        app.close()
    print(f"\nkill -9 x{kills}: webhook {app.distinct}/{n} delivered, {app.duplicates} duplicated, "
          f"{app.repeats_dropped} repeats dropped by Idempotency-Key; email {smtp.distinct}/{n} delivered, "
          f"{smtp.duplicates} duplicated (SMTP has no idempotency)")  # fmt: skip
    assert app.distinct == n and app.duplicates == 0  # the webhook honours the key: a repeat is dropped
    assert smtp.distinct == n and smtp.duplicates <= kills  # at most the one mail in flight at each kill


def test_4xx_is_dead_lettered_and_others_go_on(tmp_path: Path) -> None:
    n = 10
    app, sms = HttpReceiver(secret=SECRET, dedupe=True), HttpReceiver(key_field="ref")
    bad = "+84912000003"
    sms.responder = lambda body, _h: (400, {}) if body["to"] == bad else None
    channels = [
        {"name": "app", "type": "webhook", "url": app.url, "secret": SECRET},
        {"name": "sms", "type": "sms_http", "url": sms.url},
    ]
    cfg = load_central_config(school(tmp_path, n, channels, [("app", "en", ""), ("sms", "vi", "phone")], {}))
    url = f"sqlite:///{tmp_path}/central.sqlite"
    store = open_store(url)
    notifier = Notifier(cfg.notify, load_directories(cfg), lambda: connect(url))
    notifier.start()
    try:
        arrive(store, cfg, range(n))
        assert app.wait_for(n, 30) and sms.wait_for(n - 1, 30)
        wait_until(lambda: notifier.counters["dead"] == 1, 30, "the bad number dead-lettered")
    finally:
        notifier.stop()
        store.close()
        app.close()
        sms.close()
    assert counts(url) == {("app", "sent"): n, ("sms", "sent"): n - 1, ("sms", "dead"): 1}
    conn, dialect = connect(url)
    try:
        (error,) = q.status(conn, dialect).last_errors
        attempts = conn.execute("SELECT COUNT(*) FROM notify_attempts WHERE outcome = 'permanent'").fetchone()[0]
    finally:
        conn.close()
    assert error[0] == f"s1/p0003/{datetime.now(UTC).date()}/arrived/p0003-g2" and error[2] == "dead"
    assert error[3].startswith("permanent: HTTP 400") and attempts == 1  # no retry for a bad number
