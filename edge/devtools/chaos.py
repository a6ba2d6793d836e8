"""The chaos run: real processes, injected faults, and an audit of every card tapped.

A private Mosquitto, a collector process and a gateway process whose RDM6300 reader is fed over socket:// by
this module (the Rdm6300Simulator), tapping distinct roster cards at a steady rate. During the run it stops and
restarts the broker, kill -9s the gateway and starts it again, restarts the collector and pulls the reader's
connection. At the end it compares the cards tapped with the collector's database.

Accounting (what "lost" means): a tap is *unread* when no reader was connected to receive it (the gateway was
down or reconnecting: a real RDM6300 has no memory either), or when it was sent in the last moments before a
kill -9 (read, perhaps, but not yet committed). Every other tap was read by a running gateway and must be in
the database exactly once: those missing are *lost*, those stored twice are *duplicated*.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import yaml

from edge.devtools.mosquitto import MosquittoBroker
from edge.transport.mqtt import MqttSettings, make_client
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator

log = logging.getLogger(__name__)

SITE, GATEWAY = "chaos-school", "gw-chaos"
KILL_MARGIN_S = 0.5
"""Taps sent this long before a kill -9 may have been read but not committed: counted as unread if missing."""


@dataclass
class ChaosSettings:
    workdir: Path
    taps: int = 10_000
    rate: float = 25.0
    faults: bool = True
    broker_down_s: float = 5.0
    receipt_timeout_s: float = 3.0
    drain_timeout_s: float = 180.0
    store_url: str | None = None
    """The collector's store (edge.central.store URL); None: workdir/collector.sqlite."""


@dataclass
class Tap:
    uid: str
    at: float
    received_by: int


@dataclass
class Fault:
    name: str
    start: float
    end: float = 0.0


@dataclass
class HealthLog:
    samples: list[tuple[float, int]] = field(default_factory=list)
    """(time, outbox_depth) as the gateway's health reports said (only while it reaches the broker)."""
    outbox: list[tuple[float, int]] = field(default_factory=list)
    """(time, rows) read from the gateway's outbox database every 0.2 s, broker or not."""


def card(i: int) -> str:
    return f"C{i:09X}"


class ChaosRun:
    def __init__(self, s: ChaosSettings) -> None:
        self.s = s
        self.work = s.workdir
        self.work.mkdir(parents=True, exist_ok=True)
        self.broker = MosquittoBroker(self.work / "broker", site=SITE)
        self.sim = Rdm6300Simulator()
        self.taps: list[Tap] = []
        self.faults: list[Fault] = []
        self.health = HealthLog()
        self.gateway: subprocess.Popen[bytes] | None = None
        self.collector: subprocess.Popen[bytes] | None = None
        self._watch: mqtt.Client | None = None
        self._lock = threading.Lock()

    # processes -----------------------------------------------------------------------------------------
    def _write_files(self) -> Path:
        n = self.s.taps
        roster = self.work / "roster.csv"
        with roster.open("w") as fh:
            fh.write("person_id,name,class,card_uid\n")
            for i in range(n):
                fh.write(f"p{i:06d},Pupil {i},C{i % 30},{card(i)}\n")
        cfg = {
            "site_id": SITE,
            "gateway_id": GATEWAY,
            "gates": [
                {
                    "id": "main-in",
                    "direction": "in",
                    "mode": "card",
                    "readers": [{"id": "reader-1", "port": self.sim.url, "repeat_suppress_s": 1.0}],
                }
            ],
            "broker": {
                **self.broker.client_config(GATEWAY),
                "receipt_timeout_s": self.s.receipt_timeout_s,
                "max_inflight": 50,
            },
            "storage": {"database": str(self.work / "gateway.sqlite")},
            "roster": {"path": str(roster)},
            "gallery": {"path": str(self.work / "none.npz")},
            "health": {"interval_s": 0.5},
            "log_level": "WARNING",
        }
        path = self.work / "config.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        logf = (self.work / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "edge", *args], stdout=logf, stderr=logf, stdin=subprocess.DEVNULL
            )
        finally:
            logf.close()

    def start_gateway(self) -> None:
        self.gateway = self._spawn("gateway", ["gateway", "run", "-c", str(self.work / "config.yaml")])

    def start_collector(self) -> None:
        args = ["collector", "run", *self.broker.collector_args("chaos-collector"), "--store", self.store_url]
        self.collector = self._spawn("collector", args)

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def _watcher(self) -> None:
        c = make_client(
            MqttSettings(
                self.broker.host, self.broker.port, "chaos-watch", tls=self.broker.identity("chaos-watch", "server")
            )
        )

        def on_connect(client: mqtt.Client, *_: Any) -> None:
            client.subscribe(f"edge/v1/{SITE}/{GATEWAY}/health", qos=0)

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            try:
                depth = int(json.loads(msg.payload)["outbox_depth"])
            except (ValueError, KeyError, TypeError):
                return
            with self._lock:
                self.health.samples.append((time.time(), depth))

        c.on_connect = on_connect
        c.on_message = on_message
        c.reconnect_delay_set(min_delay=1, max_delay=1)  # back within a second of the broker
        c.connect_async("127.0.0.1", self.broker.port)
        c.loop_start()
        self._watch = c

    def _sample_outbox(self, stop: threading.Event) -> None:
        db = self.work / "gateway.sqlite"
        while not stop.wait(0.2):
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
                try:
                    n = int(con.execute("SELECT count(*) FROM outbox").fetchone()[0])
                finally:
                    con.close()
            except sqlite3.Error:
                continue
            with self._lock:
                self.health.outbox.append((time.time(), n))

    # waiting -------------------------------------------------------------------------------------------
    @staticmethod
    def _wait(pred: Any, timeout: float, what: str) -> float:
        t0 = time.time()
        while not pred():
            if time.time() - t0 > timeout:
                raise TimeoutError(f"chaos: timed out waiting for {what}")
            time.sleep(0.05)
        return time.time()

    def _reader_up(self) -> bool:
        return self.sim.client_connected.is_set()

    @property
    def store_url(self) -> str:
        return self.s.store_url or f"sqlite:///{self.work / 'collector.sqlite'}"

    def stored(self) -> list[tuple[str, str, float, int]]:
        if self.s.store_url and not self.s.store_url.startswith("sqlite:"):
            return self._stored_via_store()
        db = self.work / "collector.sqlite"
        if not db.exists():
            return []
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return list(con.execute("SELECT event_id, coalesce(card_uid, ''), received_at, seq FROM checkins"))
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()

    def _stored_via_store(self) -> list[tuple[str, str, float, int]]:
        from edge.central.store import open_store

        try:
            store = open_store(self.store_url, auto_migrate=False, pool_size=1)
        except Exception:
            return []
        try:
            return [(r["event_id"], r["card_uid"] or "", r["received_at"], r["seq"]) for r in store.checkins()]
        except Exception:
            return []
        finally:
            store.close()

    # the run -------------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.sim.start()
        self.broker.start()
        self._write_files()
        self._watcher()
        self.start_collector()
        self.start_gateway()
        try:
            self._wait(self._reader_up, 30, "the gateway's reader to connect")
            time.sleep(1.0)  # the reader's own open (pyserial clears input) and the collector's subscription
            t_start = time.time()
            sampling = threading.Event()
            sampler = threading.Thread(target=self._sample_outbox, args=(sampling,), name="outbox-sampler", daemon=True)
            sampler.start()
            self._tap_with_faults()
            tapping_s = time.time() - t_start
            drain_s = self._drain()
            sampling.set()
            sampler.join(2)
        finally:
            self._stop(self.gateway)
            self._stop(self.collector)
            if self._watch is not None:
                self._watch.loop_stop()
                self._watch.disconnect()
            self.broker.stop()
            self.sim.stop()
        return self._report(tapping_s, drain_s)

    def _tap_with_faults(self) -> None:
        n, period = self.s.taps, 1.0 / self.s.rate
        plan = {}
        if self.s.faults:
            plan = {
                int(n * 0.15): self._fault_broker,
                int(n * 0.35): self._fault_kill_gateway,
                int(n * 0.55): self._fault_collector,
                int(n * 0.75): self._fault_reader,
                int(n * 0.9): self._fault_kill_gateway,
            }
        pending: list[threading.Thread] = []
        t0 = time.time()
        for i in range(n):
            due = t0 + i * period
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            if i in plan:
                th = threading.Thread(target=plan[i], name=f"fault-{i}", daemon=True)
                th.start()
                pending.append(th)
            uid = card(i)
            self.taps.append(Tap(uid, time.time(), self.sim.tap(uid, repeats=1)))
        for th in pending:
            th.join(120)

    def _fault_broker(self) -> None:
        f = Fault("broker stop/start", time.time())
        self.faults.append(f)
        self.broker.stop()
        time.sleep(self.s.broker_down_s)
        self.broker.start()
        f.end = time.time()

    def _fault_kill_gateway(self) -> None:
        f = Fault("gateway kill -9", time.time())
        self.faults.append(f)
        assert self.gateway is not None
        os.kill(self.gateway.pid, signal.SIGKILL)
        self.gateway.wait(10)
        self.sim.disconnect_clients()  # the reader side notices the peer is gone
        time.sleep(0.5)
        self.start_gateway()
        f.end = self._wait(self._reader_up, 60, "the restarted gateway's reader")
        f.end += 1.0  # pyserial's open clears input: the first moment after connecting is not reliable
        time.sleep(1.0)

    def _fault_collector(self) -> None:
        f = Fault("collector restart", time.time())
        self.faults.append(f)
        self._stop(self.collector)
        time.sleep(1.0)
        self.start_collector()
        f.end = time.time()

    def _fault_reader(self) -> None:
        f = Fault("reader unplugged", time.time())
        self.faults.append(f)
        self.sim.disconnect_clients()
        f.end = self._wait(self._reader_up, 30, "the reader to reconnect") + 1.0
        time.sleep(1.0)

    def _drain(self) -> float:
        t0 = time.time()
        expected = sum(1 for t in self.taps if t.received_by)
        last, stable_since = -1, time.time()
        while time.time() - t0 < self.s.drain_timeout_s:
            count = len(self.stored())
            with self._lock:
                depth = self.health.samples[-1][1] if self.health.samples else -1
            if count != last:
                last, stable_since = count, time.time()
            if depth == 0 and (count >= expected or time.time() - stable_since > 3 * self.s.receipt_timeout_s):
                return time.time() - t0
            time.sleep(0.25)
        return float("nan")

    # the audit -----------------------------------------------------------------------------------------
    def _drain_after(self, fault_name: str) -> float | None:
        """Seconds from the end of a fault (the broker is back) until the outbox, read from the gateway's
        database, is back to what a healthy link holds in flight (≤ 2 × the taps of 100 ms)."""
        ends = [f.end for f in self.faults if f.name == fault_name and f.end]
        if not ends:
            return None
        normal = max(2, round(2 * self.s.rate * 0.1))
        with self._lock:
            after = [(t, d) for t, d in self.health.outbox if t >= ends[0]]
        return next((round(t - ends[0], 1) for t, d in after if d <= normal), None)

    def _first_health_after(self, fault_name: str) -> int | None:
        """The outbox depth in the first health report the gateway published after the fault ended."""
        ends = [f.end for f in self.faults if f.name == fault_name and f.end]
        with self._lock:
            return next((d for t, d in self.health.samples if ends and t >= ends[0]), None)

    def _in_blind_window(self, tap: Tap) -> bool:
        for f in self.faults:
            if f.name == "gateway kill -9" and f.start - KILL_MARGIN_S <= tap.at <= (f.end or f.start):
                return True
            if f.name == "reader unplugged" and f.start <= tap.at <= (f.end or f.start):
                return True
        return False

    def _report(self, tapping_s: float, drain_s: float) -> dict[str, Any]:
        rows = self.stored()
        by_card: dict[str, list[float]] = {}
        for _eid, uid, received_at, _seq in rows:
            by_card.setdefault(uid, []).append(received_at)
        seqs = sorted(r[3] for r in rows)
        seq_gaps = (seqs[-1] - len(set(seqs))) if seqs else 0
        unread = lost = 0
        lost_cards: list[str] = []
        latencies: list[float] = []
        for tap in self.taps:
            got = by_card.get(tap.uid)
            if got is None:
                if tap.received_by == 0 or self._in_blind_window(tap):
                    unread += 1
                else:
                    lost += 1
                    lost_cards.append(tap.uid)
                continue
            if not any(f.start - 1.0 <= tap.at <= f.end + 5.0 for f in self.faults):
                latencies.append((min(got) - tap.at) * 1000)
        duplicated = sum(len(v) - 1 for v in by_card.values() if len(v) > 1)
        depths = [d for _, d in self.health.outbox]
        return {
            "taps_sent": len(self.taps),
            "tapping_s": round(tapping_s, 1),
            "checkins_stored": len(rows),
            "unread": unread,
            "lost": lost,
            "lost_cards": lost_cards[:20],
            "duplicated": duplicated,
            "max_outbox_depth": max(depths, default=None),
            "seq_gaps": seq_gaps,
            "drain_after_broker_s": self._drain_after("broker stop/start"),
            "health_depth_after_broker": self._first_health_after("broker stop/start"),
            "end_wait_s": round(drain_s, 1),
            "latency_ms_no_fault": {
                "n": len(latencies),
                "p50": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
                "p95": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
            },
            "faults": [
                {
                    "name": f.name,
                    "at_s": round(f.start - self.taps[0].at, 1) if self.taps else 0,
                    "lasted_s": round(f.end - f.start, 1),
                }
                for f in self.faults
            ],
        }
