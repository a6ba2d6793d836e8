"""systemd readiness and watchdog of the central processes, as real `edge collector run` / `edge notify run`
processes on a NOTIFY_SOCKET the test owns: READY=1 once subscribed / started, WATCHDOG=1 while their work loops
go round, none while a loop is stuck on a real blocking seam (the store locked by another writer; a webhook that
does not answer), pings again once it moves, STOPPING=1 on SIGTERM. The notifier's metrics are scraped from the
same process after that traffic."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from edge.central.notify.directory import load_directories
from edge.central.notify.hook import NotifyHook
from edge.central.notify.receivers import HttpReceiver
from edge.central.school.files import import_central
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.config.central import load_central_config
from edge.devtools.mosquitto import MosquittoBroker, free_port
from tests.helpers import Watcher, wait_until
from tests.test_metrics import scrape, value
from tests.test_notify_jobs import SECRET, central_text, checkin
from tests.test_sdnotify import NotifySocket

WATCHDOG_USEC = "2000000"
"""2 s: a loop is stuck after 1 s without a beat (half the period), pings every 2/3 s while healthy."""


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    s = NotifySocket(f"@edge-test-notify-{uuid.uuid4().hex}")
    yield s
    s.close()


def start(args: list[str], notify_socket: NotifySocket, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": WATCHDOG_USEC}
    env.pop("WATCHDOG_PID", None)
    log = (tmp / "process.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "edge", *args], env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes], notify_socket: NotifySocket, tmp: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    notify_socket.wait_for("STOPPING", 20)
    assert proc.wait(30) == 0, (tmp / "process.log").read_text()[-3000:]


def test_collector_process_ready_watchdog_none_while_its_store_is_locked(
    broker: MosquittoBroker, watcher: Watcher, notify_socket: NotifySocket, tmp_path: Path
) -> None:
    db = tmp_path / "central.sqlite"
    broker.identity("gw-sd", "gateway")  # known to the collector (its PKI) before it starts
    proc = start(
        [
            "collector",
            "run",
            "--store",
            f"sqlite:///{db}",
            "--group",
            "sd-collectors",
            "--metrics",
            "off",
            *broker.collector_args("sd-collector"),
        ],
        notify_socket,
        tmp_path,
    )
    locker = None
    try:
        assert "collecting" in notify_socket.wait_for("READY", 30)["STATUS"]
        for _ in range(2):
            notify_socket.wait_for("WATCHDOG", 10)

        locker = sqlite3.connect(db, timeout=1, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # another writer holds the database: the collector's write waits
        school = load_directories(load_central_config(_school(tmp_path)))["s1"]
        event = checkin(
            school,
            "07:12",
            site_id="test-school",
            gateway_id="gw-sd",
            card_uid="62E3086CED",
            event_id=str(uuid.uuid4()),
            occurred_at="2026-11-24T00:12:00.000Z",
        )
        watcher.publish("edge/v1/test-school/gw-sd/checkin", json.dumps(event).encode())
        stuck = notify_socket.wait_for("STATUS", 10, value="stuck")
        assert "collector-writer" in stuck["STATUS"]
        notify_socket.quiet_for("WATCHDOG", 2.0)  # three ping intervals, none sent
        assert proc.poll() is None, "alive: only the watchdog can tell it is stuck"

        locker.execute("ROLLBACK")  # free again: the write goes through, the pings resume
        notify_socket.wait_for("WATCHDOG", 15)
        wait_until(lambda: _count(db, "checkins") == 1, 15, "the check-in stored")
        stop(proc, notify_socket, tmp_path)
    finally:
        if locker is not None:
            if locker.in_transaction:
                locker.execute("ROLLBACK")
            locker.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db, timeout=5) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _school(tmp: Path, url: str = "http://127.0.0.1:9/") -> Path:
    """central.yaml for school s1 (the notify tests' school) with one webhook channel at `url`."""
    path = tmp / "central.yaml"
    path.write_text(central_text(tmp, url, timeout_s=30, lease_s=60))
    return path


def test_notifier_process_ready_watchdog_none_while_a_send_hangs_then_metrics(
    notify_socket: NotifySocket, tmp_path: Path
) -> None:
    receiver = HttpReceiver(secret=SECRET, dedupe=True)
    answer = threading.Event()
    receiver.responder = lambda _body, _h: None if answer.wait(60) else (503, {})
    config = _school(tmp_path, receiver.url)
    url = f"sqlite:///{tmp_path}/central.sqlite"
    store = open_store(url)  # migrated: the notifier starts on an empty queue
    web = WebDb(url)  # the school in the store, as `edge school import` puts it (the notifier runs on the store)
    try:
        import_central(web, load_central_config(config), today=date(2026, 9, 1))
    finally:
        web.close()
    port = free_port()
    proc = start(
        ["notify", "run", "-c", str(config), "--store", url, "--metrics", f"127.0.0.1:{port}"], notify_socket, tmp_path
    )
    try:
        assert "notifying" in notify_socket.wait_for("READY", 30)["STATUS"]
        for _ in range(2):
            notify_socket.wait_for("WATCHDOG", 10)

        # a check-in arrives at the centre (the collector's transaction queues two notices); the webhook hangs
        d = load_directories(load_central_config(config))["s1"]
        store.store_batch([checkin(d, "07:12")], on_stored=NotifyHook({"s1": d}))
        stuck = notify_socket.wait_for("STATUS", 15, value="stuck")
        assert "notify-s1-app" in stuck["STATUS"]
        notify_socket.quiet_for("WATCHDOG", 2.0)

        answer.set()  # the provider answers: both notices go, the pings resume
        notify_socket.wait_for("WATCHDOG", 15)
        assert receiver.wait_for(2, 20)
        metrics = f"http://127.0.0.1:{port}/metrics"
        wait_until(lambda: value(scrape(metrics)[0], "edge_notify_queue_depth", channel="app") == 0, 10, "queue empty")
        samples, types = scrape(metrics)
        stop(proc, notify_socket, tmp_path)
    finally:
        answer.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        receiver.close()
        store.close()
    sent = value(samples, "edge_notify_notices_total", site="s1", channel="app", kind="arrived", outcome="sent")
    assert sent == 2
    assert value(samples, "edge_notify_send_seconds_count", channel="app") == 2
    assert value(samples, "edge_notify_send_seconds_sum", channel="app") >= 1.0, "the hung send is in the histogram"
    assert value(samples, "edge_notify_jobs", kind="arrived", channel="app", status="sent") == 2
    assert types["edge_notify_notices"] == "counter" and types["edge_notify_send_seconds"] == "histogram"
    assert types["edge_notify_queue_depth"] == "gauge"
