"""`edge bench collector`: check-ins from G simulated gateways through a private Mosquitto to C collector
processes (`edge collector run`, one shared group) on SQLite or PostgreSQL; what a district operator asks.

Measured per run: stored events/s (from the first publish to the last receipt), publish -> receipt latency
p50/p95/p99 (the collector sends a receipt only after the batch's commit, so this bounds publish -> stored from
above), lost and duplicated — checked against the database, not assumed — each collector's peak RSS, and the
CPU time per check-in of the collectors together and of the broker (from /proc, between the collectors being
online and the last receipt) and of the simulated gateways (the publisher process's own CPU clock). On a machine
shared with the publishers (and others), stored/s says how fast it went; CPU µs/event says what each check-in
costs, which is what sizing a dedicated machine needs.

Why a plaintext broker here: the bench measures the centre's data path (broker, collector, store); TLS costs a
handshake per connection and symmetric crypto per byte, the same whichever store. The publishers run in their own
process (CLOCK_MONOTONIC is system-wide, so their timestamps compare with the receipt listener's)."""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.devtools.mosquitto import MosquittoBroker
from edge.transport.subscriber import Subscriber

SITE = "bench-school"


@dataclass(frozen=True)
class Run:
    events: int
    gateways: int
    store: str
    collectors: int
    rate: float | None


def make_events(n: int, gateways: int) -> list[tuple[str, str, bytes]]:
    """(topic, event_id, payload) round-robin over the gateways; a realistic mix of card and face check-ins."""
    out = []
    seqs = [0] * gateways
    now = rfc3339_ms()
    for i in range(n):
        g = i % gateways
        seqs[g] += 1
        gw = f"gw-{g + 1:03d}"
        if i % 3:
            e = CheckIn(new_event_id(), SITE, gw, "main", "in", now, seqs[g], "card", f"p{i % 2000:05d}",
                        "granted", card_uid=f"{i % 2000:010X}", device_id="rdm6300")  # fmt: skip
        else:
            e = CheckIn(new_event_id(), SITE, gw, "main", "in", now, seqs[g], "face", f"p{i % 2000:05d}",
                        "granted", distance=0.31, device_id="cam-1")  # fmt: skip
        out.append((f"edge/v1/{SITE}/{gw}/checkin", e.event_id, e.to_json().encode()))
    return out


def _publisher(port: int, gateways: int, events: list[tuple[str, str, bytes]], rate: float | None, q: Any) -> None:
    """In a child process: one MQTT client per gateway, QoS 1; puts [(event_id, t_publish_monotonic)]."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    clients = []
    for g in range(gateways):
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-gw-{g + 1:03d}", protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.connect("127.0.0.1", port)
        c.loop_start()
        clients.append(c)
    times: list[tuple[str, float]] = []
    infos = []
    cpu0 = time.process_time()  # this process's CPU (all its threads): what simulating the gateways costs
    t0 = time.monotonic()
    for i, (topic, eid, payload) in enumerate(events):
        if rate:
            due = t0 + i / rate
            delay = due - time.monotonic()
            if delay > 0.001:
                time.sleep(delay)
        times.append((eid, time.monotonic()))
        infos.append(clients[i % gateways].publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    acked = time.monotonic()
    cpu = time.process_time() - cpu0
    for c in clients:
        c.disconnect()
        c.loop_stop()
    q.put((times, acked, cpu))


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far: /proc/PID/stat fields 14 and 15, in clock ticks."""
    with contextlib.suppress(OSError, IndexError, ValueError), open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # the command name may hold spaces: split after it
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


def _cpu_us_per_event(before: list[float | None], after: list[float | None], events: int) -> float | None:
    """CPU microseconds per check-in spent by these processes between the two readings: what a collector costs
    whatever else loads the machine (the stored/s figure depends on who else wants the cores; this does not,
    much). None when /proc could not be read."""
    if any(v is None for v in (*before, *after)) or not events:
        return None
    spent = sum(a for a in after if a is not None) - sum(b for b in before if b is not None)
    return round(spent / events * 1e6, 1)


def _vm_hwm_mib(pid: int) -> float | None:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def _start_collectors(broker: MosquittoBroker, url: str, n: int, work: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = (work / f"collector-{i + 1}.log").open("ab")
        cmd = [sys.executable, "-m", "edge", "--log-level", "WARNING", "collector", "run"]
        cmd += [*broker.collector_args(f"bench-c{i + 1}"), "--store", url, "--group", "bench"]
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL))
        log.close()
    return procs


def _wait_online(status: Subscriber, n: int, timeout: float) -> None:
    online: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(online) < n and time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            topic, payload, _ = status.messages.get(timeout=0.2)
            if payload == b"online":
                online.add(topic)
    if len(online) < n:
        raise RuntimeError(f"only {len(online)}/{n} collectors came online")


def run_once(run: Run, work: Path) -> dict[str, Any]:
    from edge.central.store import open_store

    events = make_events(run.events, run.gateways)
    with contextlib.ExitStack() as stack:
        # plaintext: this bench measures the store and the collector; the cost of TLS is measured by
        # `edge bench tls` side by side (the publishers here are plain paho clients)
        broker = stack.enter_context(MosquittoBroker(work / f"mqtt-{time.monotonic_ns()}", insecure_plaintext=True))
        url = run.store
        if url == "sqlite":
            url = f"sqlite:///{work / f'bench-{time.monotonic_ns()}.sqlite'}"
        elif url == "postgresql":
            from edge.devtools.postgres import PostgresServer

            pg = stack.enter_context(PostgresServer(fsync=True))
            url = pg.fresh_database()
        open_store(url).close()  # migrated once, before the collectors race for it
        status = Subscriber(broker.port, "edge/v1/collectors/+/status", client_id="bench-status")
        stack.callback(status.close)
        procs = _start_collectors(broker, url, run.collectors, work)

        def stop_all() -> None:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()

        stack.callback(stop_all)
        _wait_online(status, run.collectors, 60)
        receipts = Subscriber(broker.port, "edge/v1/+/+/receipt", client_id="bench-receipts")
        stack.callback(receipts.close)
        assert broker._proc is not None
        pids = [p.pid for p in procs]
        cpu_before = [_cpu_s(pid) for pid in pids]  # after start-up (imports, connect): the data path only
        broker_before = [_cpu_s(broker._proc.pid)]
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        pub = ctx.Process(
            target=_publisher, args=(broker.port, run.gateways, events, run.rate, q), name="bench-publisher"
        )
        pub.start()
        first_receipt: dict[str, tuple[float, str]] = {}
        n_receipts = 0
        last_progress = time.monotonic()
        while len(first_receipt) < run.events and time.monotonic() - last_progress < 30:
            try:
                _topic, payload, at = receipts.messages.get(timeout=0.5)
            except Exception:
                continue
            last_progress = time.monotonic()
            n_receipts += 1
            body = json.loads(payload)
            first_receipt.setdefault(body["event_id"], (at, body["status"]))
        cpu_after = [_cpu_s(pid) for pid in pids]
        broker_after = [_cpu_s(broker._proc.pid)]
        times, acked_at, publisher_cpu_s = q.get(timeout=120)
        pub.join(30)
        rss = [_vm_hwm_mib(p.pid) for p in procs]
        stop_all()
        store = open_store(url, auto_migrate=False)
        rows = list(store.checkins(order="seq"))
        store.close()

    published = {eid for _, eid, _ in events}
    stored_ids = [r["event_id"] for r in rows]
    stored_set = set(stored_ids)
    per_gw: dict[str, list[int]] = {}
    for r in rows:
        per_gw.setdefault(r["gateway_id"], []).append(r["seq"])
    seq_complete = all(s == list(range(1, len(s) + 1)) for s in per_gw.values())
    t_pub = dict(times)
    lat = [(first_receipt[e][0] - t_pub[e]) * 1000 for e in t_pub if e in first_receipt]
    t_first = min(t_pub.values())
    t_last = max((at for at, _ in first_receipt.values()), default=t_first)
    return {
        "store": run.store if run.store in ("sqlite", "postgresql") else run.store.split("://")[0],
        "collectors": run.collectors,
        "gateways": run.gateways,
        "events": run.events,
        "offered_rate": run.rate,
        "stored": len(stored_set & published),
        "stored_per_s": round(len(stored_set & published) / max(t_last - t_first, 1e-9)),
        "publish_acked_s": round(acked_at - t_first, 2),
        "all_receipts_s": round(t_last - t_first, 2),
        "latency_ms": {
            "p50": round(float(np.percentile(lat, 50)), 1) if lat else None,
            "p95": round(float(np.percentile(lat, 95)), 1) if lat else None,
            "p99": round(float(np.percentile(lat, 99)), 1) if lat else None,
        },
        "lost": len(published - stored_set),
        "duplicated": len(stored_ids) - len(stored_set),
        "duplicate_receipts": sum(1 for _, s in first_receipt.values() if s == "duplicate"),
        "receipts": n_receipts,
        "seq_complete_per_gateway": seq_complete,
        "peak_rss_mib": rss,
        "collector_cpu_us_per_event": _cpu_us_per_event(cpu_before, cpu_after, run.events),
        "broker_cpu_us_per_event": _cpu_us_per_event(broker_before, broker_after, run.events),
        "publisher_cpu_us_per_event": round(publisher_cpu_s / run.events * 1e6, 1),
        "cores": os.cpu_count(),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }


def bench_collector(
    events: int, gateways: int, stores: list[str], collectors: list[int], rate: float | None
) -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory(prefix="edge-bench-collector-") as tmp:
        for store in stores:
            for c in collectors:
                results.append(run_once(Run(events, gateways, store, c, rate), Path(tmp)))
    return {"bench": "collector", "runs": results}


def table(result: dict[str, Any]) -> str:
    head = f"{'store':10} {'coll':>4} {'stored/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'lost':>5} {'dup':>4}"
    lines = [head + "  CPU µs/event (collectors, broker, publisher)  peak RSS MiB (each)"]
    for r in result["runs"]:
        lat = r["latency_ms"]
        cpu = (
            f"{r['collector_cpu_us_per_event']!s:>9} {r['broker_cpu_us_per_event']!s:>6} "
            f"{r['publisher_cpu_us_per_event']!s:>6}"
        )
        lines.append(
            f"{r['store']:10} {r['collectors']:>4} {r['stored_per_s']:>9} {lat['p50']!s:>8} {lat['p95']!s:>8} "
            f"{lat['p99']!s:>8} {r['lost']:>5} {r['duplicated']:>4}  {cpu:<44}  {r['peak_rss_mib']}"
        )
    return "\n".join(lines)
