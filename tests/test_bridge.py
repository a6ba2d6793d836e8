"""A school's Mosquitto bridged to the district broker (edge bridge config), two real Mosquitto processes.

The school's uplink is cut for 60 s (a TCP proxy between the brokers stops forwarding and drops its
connections) while the gateway keeps tapping into the school broker; when it is restored, every check-in is stored
once at the district, in seq order, and the gateway's outbox empties on the district collector's receipts.
Plaintext brokers here: this test is about the bridge's queues, not TLS (the lead's fixture covers TLS)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.central.bridge import BridgeSettings, bridge_conf
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.events.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.gateway.forwarder import OutboxForwarder
from edge.outbox import Outbox
from edge.transport.mqtt import MqttSettings, MqttTransport
from tests.helpers import start_collector, wait_until

SITE, GW = "school-a", "gw-1"
OUTAGE_S = float(os.environ.get("EDGE_BRIDGE_OUTAGE_S", "60"))
"""The issue asks for a minute; EDGE_BRIDGE_OUTAGE_S shortens it while working on the bridge."""


class SchoolBroker(MosquittoBroker):
    def __init__(self, workdir: Path, extra: str) -> None:
        super().__init__(workdir, insecure_plaintext=True)
        self.extra = extra

    def _write_conf(self) -> None:
        super()._write_conf()
        with self.conf.open("a") as f:
            f.write(self.extra)


class Uplink:
    """A TCP proxy standing for the school's Internet link: cut() drops every connection and refuses new ones."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self.up = threading.Event()
        self.up.set()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, name="uplink-proxy", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            if not self.up.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), name="uplink-pipe", daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._thread.join(5)
        self._server.close()


@pytest.fixture
def district(tmp_path: Path) -> Iterator[MosquittoBroker]:
    # plaintext: this test is about the bridge's queues; a TLS bridge needs an ACL role for the school's bridge
    with MosquittoBroker(tmp_path / "district", insecure_plaintext=True) as b:
        yield b


def test_bridge_config_lines() -> None:
    conf = bridge_conf(BridgeSettings(SITE, "district.example", ca=Path("ca"), cert=Path("c"), key=Path("k")))
    for line in ("cleansession false", f"topic edge/v1/{SITE}/+/checkin out 1", f"topic edge/v1/{SITE}/+/receipt in 1",
                 "address district.example:8883", "bridge_certfile c"):  # fmt: skip
        assert line in conf.splitlines()
    with pytest.raises(ValueError, match="go together"):
        bridge_conf(BridgeSettings(SITE, "d", ca=Path("ca")))
    with pytest.raises(ValueError, match="site"):
        bridge_conf(BridgeSettings("a/#", "d"))


@pytest.mark.slow
def test_uplink_cut_for_a_minute_loses_nothing(district: MosquittoBroker, tmp_path: Path) -> None:
    uplink = Uplink(district.port)
    school = SchoolBroker(tmp_path / "school", bridge_conf(BridgeSettings(SITE, "127.0.0.1", uplink.port, restart_s=2)))
    school.start()
    collector = start_collector(tmp_path / "district.sqlite", district, "district-collectors")
    outbox = Outbox(tmp_path / "gateway.sqlite")
    settings = MqttSettings(host="127.0.0.1", port=school.port, client_id=GW, clean_start=False, session_expiry_s=3600)
    transport = MqttTransport(settings)
    receipt_topic = f"edge/v1/{SITE}/{GW}/receipt"
    forwarder = OutboxForwarder(outbox, transport, receipt_topic=receipt_topic, receipt_timeout_s=10)
    transport.start()
    forwarder.start()

    def tap() -> int:
        def build(seq: int) -> tuple[str, str, str]:
            e = CheckIn(new_event_id(), SITE, GW, "main", "in", rfc3339_ms(), seq, "card", f"p{seq}", "granted",
                        card_uid="0F00A1B2C3")  # fmt: skip
            return f"edge/v1/{SITE}/{GW}/checkin", e.event_id, e.to_json()

        return outbox.append(build)

    try:
        assert transport.wait_connected(10)
        for _ in range(10):
            tap()
        wait_until(lambda: collector.store.count() == 10, 30, "the first taps stored through the bridge")
        wait_until(lambda: outbox.depth() == 0, 30, "receipts back through the bridge")

        uplink.cut()
        cut_at = time.monotonic()
        during = 0
        while time.monotonic() - cut_at < OUTAGE_S:  # the gate keeps working: a tap every 0.5 s
            tap()
            during += 1
            time.sleep(0.5)
        assert collector.store.count() == 10, "nothing crossed a cut link"
        assert forwarder.stats.acked >= 10 + during * 0.9, "the school broker acknowledged taps during the outage"
        uplink.restore()
        restored_at = time.monotonic()
        total = 10 + during
        wait_until(lambda: collector.store.count() == total, 120, "every tap of the outage stored")
        stored_s = time.monotonic() - restored_at
        wait_until(lambda: outbox.depth() == 0, 120, "the outbox empty on the district's receipts")
        rows = list(collector.store.checkins(order="seq"))
        assert [r["seq"] for r in rows] == list(range(1, total + 1))  # once each, none missing
        assert len({r["event_id"] for r in rows}) == total
        print(f"bridge outage {OUTAGE_S:.0f}s: {during} taps queued, all stored {stored_s:.1f}s after the restore; "
              f"{forwarder.stats.resent_no_receipt} re-sent on receipt timeout, "
              f"{collector.stats.duplicates} duplicates answered")  # fmt: skip
    finally:
        forwarder.stop()
        transport.stop()
        outbox.close()
        collector.stop()
        collector.store.close()
        school.stop()
        uplink.close()
