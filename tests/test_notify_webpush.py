"""Web Push against a real local push service that checks the VAPID JWT's signature with the school's public key
and decrypts every message with the subscription's private keys (RFC 8291, its own implementation): the devices'
subscriptions in the store (SQLite and PostgreSQL), once per device per notice, 404/410 removes the device,
429/5xx retried only where not yet accepted, `edge notify vapid-keygen`, and the notifier killed with SIGKILL
mid-send (every device gets every notice; a repeat only for a device in flight at the kill, counted)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec

from edge.central.notify import jobs as q
from edge.central.notify import push_subscriptions as subs
from edge.central.notify.channels import Accepted, PermanentFailure, RetryAfter, build_channel
from edge.central.notify.channels.webpush import (
    MAX_PLAINTEXT,
    VapidKeyError,
    load_vapid_key,
    public_key_b64,
    push_body,
    write_vapid_key,
)
from edge.central.notify.directory import load_directories
from edge.central.notify.hook import NotifyHook, connect
from edge.central.notify.messages import Messages, Notice
from edge.central.notify.push_service import LocalPushService
from edge.central.notify.worker import Notifier
from edge.central.school.files import import_central
from edge.central.store import CheckinStore, open_store
from edge.central.web.db import WebDb
from edge.cli import cli
from edge.config.central import SchoolConfig, WebPushChannel, load_central_config
from tests.helpers import wait_until

REPO = Path(__file__).resolve().parent.parent
SCHOOL = SchoolConfig.model_validate(
    {
        "id": "s1",
        "name": "Trường THCS A",
        "calendar": {"terms": [{"name": "T1", "start": date(2026, 9, 5), "end": date(2027, 1, 16)}]},
        "gates": {"main-in": {"vi": "cổng chính", "en": "main gate"}},
    }
)


@dataclass
class Db:
    conn: Any
    dialect: q.Dialect
    connect: Callable[[], tuple[Any, q.Dialect]]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/central.sqlite"
    else:
        url = request.getfixturevalue("postgres").fresh_database()
    open_store(url).close()  # the migrations make the tables
    conn, dialect = connect(url)
    yield Db(conn, dialect, lambda: connect(url))
    conn.close()


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


def notice(
    guardian: str = "minh_anh-g1", language: str = "vi", key: str = "s1/minh_anh/2026-11-24/arrived/g1"
) -> Notice:
    text, subject = Messages(SCHOOL).render(
        "arrived", language, name="Minh Anh", class_name="6A", time="07:12", gate="main-in", cutoff="07:45"
    )
    return Notice(key, "s1", guardian, "minh_anh", "arrived", "arrived", date(2026, 11, 24), "07:12", language, text,
                  subject, phone="+84912345678")  # fmt: skip


def channel(vapid: Path, db: Db, **kw: Any) -> Any:
    cfg = WebPushChannel(
        name="push", type="webpush", vapid_key_file=str(vapid), subject="mailto:it@school.example", timeout_s=5, **kw
    )
    return build_channel(cfg, "s1", db.connect)


def subscribe(db: Db, service: LocalPushService, guardian: str, device: str) -> None:
    b = service.subscribe(device)
    subs.add(db.conn, db.dialect, site="s1", guardian_id=guardian, endpoint=b.endpoint, p256dh=b.p256dh, auth=b.auth,
             label=f"{device}'s phone", user_agent="Mozilla/5.0 (Linux; Android 14)")  # fmt: skip


# subscriptions --------------------------------------------------------------------------------------------
def test_subscriptions_added_checked_replaced_removed(db: Db, service: LocalPushService) -> None:
    b = service.subscribe("phone")
    add: dict[str, Any] = {
        "site": "s1",
        "guardian_id": "g1",
        "endpoint": b.endpoint,
        "p256dh": b.p256dh,
        "auth": b.auth,
    }
    got = subs.add(db.conn, db.dialect, **add, label=" Mẹ's phone ", now=1000.0)
    assert got.label == "Mẹ's phone" and got.created_at == 1000.0
    assert [s.endpoint for s in subs.of_guardian(db.conn, db.dialect, "s1", "g1")] == [b.endpoint]
    bad = [
        ({"endpoint": "ftp://push.example/x"}, "https://"),
        ({"endpoint": "http://push.example/x"}, "https://"),  # plain http only to this machine
        ({"p256dh": b.auth}, "65 bytes"),
        ({"p256dh": "BA" + "A" * 85}, "not a point"),
        ({"auth": b.p256dh}, "16 bytes"),
        ({"auth": "***"}, "base64url"),
        ({"label": "a\x1b[31mb"}, "control characters"),
    ]
    for change, why in bad:
        with pytest.raises(subs.SubscriptionError, match=why):
            subs.add(db.conn, db.dialect, **{**add, **change})
    # the same device signed in as another guardian (a shared phone): it moves, it is never under two names
    subs.add(db.conn, db.dialect, **{**add, "guardian_id": "g2"})
    assert subs.of_guardian(db.conn, db.dialect, "s1", "g1") == []
    assert len(subs.of_guardian(db.conn, db.dialect, "s1", "g2")) == 1
    assert not subs.remove(db.conn, db.dialect, site="s1", guardian_id="g1", endpoint=b.endpoint)  # not theirs
    assert subs.remove(db.conn, db.dialect, site="s1", guardian_id="g2", endpoint=b.endpoint)
    assert subs.of_guardian(db.conn, db.dialect, "s1", "g2") == []


# sending --------------------------------------------------------------------------------------------------
def test_each_device_decrypts_the_signed_notice(db: Db, service: LocalPushService, vapid: Path) -> None:
    subscribe(db, service, "minh_anh-g1", "phone")
    subscribe(db, service, "minh_anh-g1", "tablet")
    subscribe(db, service, "bao-g1", "other-family")
    ch = channel(vapid, db)
    try:
        out = ch.send(notice())
        assert isinstance(out, Accepted) and out.detail == "2 of 2 device(s) accepted"
        for device in ("phone", "tablet"):
            (got,) = service.deliveries(device)  # decrypted at the push service with that device's keys
            assert got["text"] == "Minh Anh (6A) đã đến trường lúc 07:12 (cổng chính)."
            assert got["subject"] == "Minh Anh đã đến trường" and got["language"] == "vi"
            assert got["idempotency_key"] == "s1/minh_anh/2026-11-24/arrived/g1"
            assert "phone" not in got and "email" not in got
        assert service.deliveries("other-family") == []  # another family's device hears nothing of this child
        headers = service.received[0].headers
        assert headers["urgency"] == "high" and headers["ttl"] == "43200" and len(headers["topic"]) == 32
        # a repeat of the same notice (a retry after a crash) goes to no device that already accepted it
        assert isinstance(ch.send(notice()), Accepted)
        assert service.distinct == 2 and service.duplicates == 0
        rows = db.conn.execute("SELECT COUNT(*) FROM push_deliveries").fetchone()[0]
        assert rows == 2
        assert all(s.last_ok_at is not None for s in subs.of_guardian(db.conn, db.dialect, "s1", "minh_anh-g1"))
    finally:
        ch.close()


def test_gone_removed_busy_retried_only_where_not_accepted(db: Db, service: LocalPushService, vapid: Path) -> None:
    for device in ("ok", "uninstalled", "busy", "down"):
        subscribe(db, service, "minh_anh-g1", device)
    service.gone.add("uninstalled")
    busy: dict[str, list[tuple[int, dict[str, str]]]] = {"busy": [(429, {"Retry-After": "3"})], "down": [(503, {})]}
    service.responder = lambda device, _p: busy[device].pop() if busy.get(device) else None
    ch = channel(vapid, db)
    try:
        first = ch.send(notice())
        assert isinstance(first, RetryAfter) and first.seconds == 3.0
        assert not first.pause_channel  # a device took it: only this notice waits, not every parent's
        assert first.reason.startswith("1 of 4 device(s) accepted; 1 gone (subscription removed); 2 to retry: HTTP 429")
        left = {s.endpoint.rsplit("/", 1)[1] for s in subs.of_guardian(db.conn, db.dialect, "s1", "minh_anh-g1")}
        assert left == {"ok", "busy", "down"}  # the 410 removed that device
        second = ch.send(notice())
        assert isinstance(second, Accepted) and second.detail == "3 of 3 device(s) accepted"
        assert {d: len(service.deliveries(d)) for d in ("ok", "busy", "down", "uninstalled")} == {
            "ok": 1, "busy": 1, "down": 1, "uninstalled": 0,
        }  # fmt: skip
        assert service.duplicates == 0
        # the push service refusing the key (403: subscribed with another VAPID key) is that device's refusal
        service.vapid_public_key = public_key_b64(ec.generate_private_key(ec.SECP256R1()))
        refused = ch.send(notice(key="s1/minh_anh/2026-11-24/left/g1"))
        assert isinstance(refused, PermanentFailure) and "3 refused: HTTP 403" in refused.reason
    finally:
        ch.close()


def test_guardian_without_a_device_and_key_files(db: Db, tmp_path: Path, vapid: Path) -> None:
    ch = channel(vapid, db)
    try:
        out = ch.send(notice(guardian="nobody"))
        assert isinstance(out, PermanentFailure) and "no device subscribed" in out.reason
    finally:
        ch.close()
    assert stat.S_IMODE(vapid.stat().st_mode) == 0o600
    vapid.chmod(0o644)
    with pytest.raises(VapidKeyError, match="readable by others"):
        channel(vapid, db)
    with pytest.raises(VapidKeyError, match="vapid-keygen"):
        load_vapid_key(tmp_path / "missing.pem")
    (tmp_path / "rsa.pem").write_text("not a key")
    (tmp_path / "rsa.pem").chmod(0o600)
    with pytest.raises(VapidKeyError, match="not a PEM"):
        load_vapid_key(tmp_path / "rsa.pem")


def test_vapid_keygen_cli(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "vapid.pem"
    path.parent.mkdir()
    runner = CliRunner()
    first = runner.invoke(cli, ["notify", "vapid-keygen", str(path)])
    assert first.exit_code == 0, first.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    public = public_key_b64(load_vapid_key(path))
    assert f"applicationServerKey): {public}" in first.output
    again = runner.invoke(cli, ["notify", "vapid-keygen", str(path)])
    assert again.exit_code == 1 and "--force" in again.output
    assert public_key_b64(load_vapid_key(path)) == public  # not overwritten
    forced = runner.invoke(cli, ["notify", "vapid-keygen", "--force", str(path)])
    assert forced.exit_code == 0 and public_key_b64(load_vapid_key(path)) != public


# kill -9 --------------------------------------------------------------------------------------------------
def school(tmp: Path, n: int, vapid: Path) -> Path:
    (tmp / "roster.csv").write_text(
        "person_id,name,class,card_uid\n" + "".join(f"p{i:04d},Học Sinh {i},6A,\n" for i in range(n))
    )
    rows = ["person_id,name,phone,email,channel,language,kinds"]
    rows += [f"p{i:04d},Phụ huynh {i},,,push,vi,arrived" for i in range(n)]
    (tmp / "guardians.csv").write_text("\n".join(rows) + "\n")
    today = datetime.now(UTC).date()
    data = {
        "schools": [{
            "id": "s1", "name": "Trường", "timezone": "UTC", "roster": "roster.csv", "guardians": "guardians.csv",
            "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "cutoff": "24:00",
                         "terms": [{"name": "T", "start": str(today - timedelta(days=1)),
                                    "end": str(today + timedelta(days=1))}]},
            "channels": [{"name": "push", "type": "webpush", "vapid_key_file": str(vapid),
                          "subject": "mailto:it@school.example", "rate_per_s": 25, "burst": 1}],
        }],
        "notify": {"poll_s": 0.1, "backoff_initial_s": 0.2, "backoff_max_s": 1.0, "lease_s": 2},
    }  # fmt: skip
    path = tmp / "central.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def arrive(store: CheckinStore, path: Path, n: int) -> None:
    hook = NotifyHook(load_directories(load_central_config(path)))
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    events = [
        {"schema_version": 1, "event_id": f"e{i}", "site_id": "s1", "gateway_id": "gw", "gate": "main-in",
         "direction": "in", "occurred_at": now, "seq": i, "method": "card", "person_id": f"p{i:04d}",
         "decision": "granted"}
        for i in range(n)
    ]  # fmt: skip
    for start in range(0, n, 25):
        store.store_batch(events[start : start + 25], on_stored=hook)


def test_kill_9_mid_send_each_device_gets_each_notice(tmp_path: Path, vapid: Path, service: LocalPushService) -> None:
    n, devices = 60, ("phone", "tablet")
    path = school(tmp_path, n, vapid)
    url = f"sqlite:///{tmp_path}/central.sqlite"
    store = open_store(url)
    web = WebDb(url)  # the notifier runs on the school as the store holds it (`edge school import`)
    try:
        import_central(web, load_central_config(path), today=datetime.now(UTC).date() - timedelta(days=1))
    finally:
        web.close()
    conn, dialect = connect(url)
    db = Db(conn, dialect, lambda: connect(url))
    for i in range(n):
        for device in devices:
            subscribe(db, service, f"p{i:04d}-g1", f"p{i:04d}-{device}")
    conn.close()
    arrive(store, path, n)
    store.close()

    def slow(_device: str, _payload: dict[str, Any]) -> None:
        stop.wait(0.02)  # a push service taking 20 ms to answer: a kill -9 lands mid-send now and then

    stop = threading.Event()
    service.responder = slow
    cmd = [sys.executable, "-m", "edge", "notify", "run", "-c", str(path), "--store", url, "--metrics", "off"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    kills = 0
    try:
        for target in (30, 70):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:

                def reached(t: int = target) -> bool:
                    return service.distinct >= t

                wait_until(reached, 90, f"{target} pushes delivered")
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            kills += 1
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert service.wait_for(n * len(devices), 120), f"{service.distinct} of {n * len(devices)} delivered"
            wait_until(lambda: _counts(url) == {("push", "sent"): n}, 30, "every job recorded as sent")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        stop.set()
    print(f"\nkill -9 x{kills}: {service.distinct}/{n * len(devices)} pushes delivered to {n * len(devices)} devices, "
          f"{service.duplicates} repeated (a device in flight at a kill)")  # fmt: skip
    for i in range(n):
        for device in devices:
            got = {d["idempotency_key"] for d in service.deliveries(f"p{i:04d}-{device}")}
            assert got == {f"s1/p{i:04d}/{datetime.now(UTC).date()}/arrived/p{i:04d}-g1"}
    assert service.duplicates <= kills  # at most the one device in flight at each kill
    assert service.refused == []


def _counts(url: str) -> dict[tuple[str, str], int]:
    conn, dialect = connect(url)
    try:
        return {(c, s): n for _k, c, s, n in q.status(conn, dialect).counts}
    finally:
        conn.close()


def test_one_flaky_device_does_not_pause_the_channel(
    tmp_path: Path, vapid: Path, service: LocalPushService, caplog: pytest.LogCaptureFixture
) -> None:
    n = 6
    path = school(tmp_path, n, vapid)
    url = f"sqlite:///{tmp_path}/central.sqlite"
    store = open_store(url)
    conn, dialect = connect(url)
    db = Db(conn, dialect, lambda: connect(url))
    for i in range(n):
        subscribe(db, service, f"p{i:04d}-g1", f"p{i:04d}-phone")
    subscribe(db, service, "p0000-g1", "p0000-flaky")  # the first parent's second device: its push service is down
    service.responder = lambda device, _p: (503, {}) if device == "p0000-flaky" else None
    cfg = load_central_config(path)
    notifier = Notifier(cfg.notify, load_directories(cfg), lambda: connect(url))
    caplog.set_level("WARNING", logger="edge.central.notify.worker")
    notifier.start()
    try:
        arrive(store, path, n)
        assert service.wait_for(n, 30)
        wait_until(lambda: notifier.counters["retried"] >= 2, 30, "the flaky device's notice retried")
    finally:
        notifier.stop()
        store.close()
        conn.close()
    assert {d: len(service.deliveries(d)) for d in ("p0000-phone", "p0000-flaky")} == {
        "p0000-phone": 1,
        "p0000-flaky": 0,
    }
    assert service.duplicates == 0  # the retries went to the flaky device only
    assert not [r for r in caplog.records if "pausing" in r.getMessage()]  # the other parents never waited for it


def test_payload_fits_a_push_message() -> None:
    huge = notice()
    huge = Notice(**{**huge.__dict__, "text": "Nguyễn " * 1200})  # a broken roster name: ~8,400 bytes of text
    body = push_body(huge)
    assert len(body) <= MAX_PLAINTEXT and json.loads(body)["text"].endswith("…")
    assert push_body(notice()) == notice().payload_bytes()  # a normal notice is sent whole, as the webhook's body
