"""`edge demo`: a private Mosquitto, a collector process and a gateway process fed by the bundled sample video and
a simulated RDM6300 card reader; live check-ins as they arrive; an attendance table from the collector's
database at the end. Exit 0 only when the collector stored exactly what the gateway published.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from edge.central.attendance.report import write_attendance
from edge.central.store import open_store
from edge.devtools.mosquitto import MosquittoBroker
from edge.devtools.subscriber import Subscriber
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder
from edge.roster import read_roster_csv
from edge.security.sealed import new_key_file, read_key_file
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator

SITE, GATEWAY = "demo-school", "gw-demo"

# (seconds after the reader connects, card) — a student holding the card, an unknown card, a repeat tap
TAPS = [
    (1.0, "0F00A1B2C3"),
    (2.0, "0F00D4E5F6"),
    (3.0, "DEADBEEF00"),
    (4.0, "0F00A1B2C3"),
    (5.0, "1A2B3C4D5E"),
]
EXPECTED_PRESENT = {"lin_manuel_miranda", "barack_obama", "joe_biden", "alex_lacamoire"}


def data_dir() -> Path:
    return Path(str(resources.files("edge.demo").joinpath("data")))


def gateway_config(workdir: Path, broker: dict[str, Any], reader_url: str) -> dict[str, Any]:
    """The demo gateway's config; `broker` is its broker section (TLS files of its identity)."""
    data = data_dir()
    return {
        "site_id": SITE,
        "gateway_id": GATEWAY,
        "gates": [
            {
                "id": "main-in",
                "direction": "in",
                "mode": "card_or_face",
                "cameras": [{"id": "cam-main", "source": str(data / "gate_camera.mp4"), "realtime": False}],
                "readers": [{"id": "reader-main", "port": reader_url}],
            }
        ],
        "broker": broker,
        "storage": {"database": str(workdir / "gateway.sqlite")},
        "roster": {"path": str(data / "roster.csv")},
        "gallery": {"path": str(workdir / "gallery.npz"), "key_file": str(workdir / "keys" / "gallery.key")},
        "health": {"interval_s": 1.0},
    }


def _spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    logf = log_path.open("wb")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", *args],
        stdout=logf,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    logf.close()
    return proc


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def run_demo(workdir: Path | None = None, console: Console | None = None) -> int:
    con = console or Console(width=None if sys.stdout.isatty() else 120)
    t0 = time.monotonic()
    keep = workdir is not None
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="edge-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        with ExitStack() as stack:
            return _run(con, work, stack, t0)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _run(con: Console, work: Path, stack: ExitStack, t0: float) -> int:
    data = data_dir()
    roster = read_roster_csv(data / "roster.csv")
    con.rule("[bold]edge demo[/bold]: gate camera + RFID reader -> gateway -> MQTT -> collector")
    con.print(f"work folder {work}")

    con.print("[bold]1. enrolment[/bold] of the sample photos")
    key = read_key_file(new_key_file(work / "keys" / "gallery.key"))  # the gallery is sealed with it
    report = enroll(work / "gallery.npz", photos_from_folder(data / "photos"), EnrolSettings(jitters=1), key=key)
    for r in report.results:
        con.print(f"   {r.status:9s} {r.person_id:20s} {Path(r.photo).name} {r.detail}")

    broker = stack.enter_context(MosquittoBroker(work / "broker", site=SITE))  # a throwaway site CA in work/broker/pki
    con.print(
        f"[bold]2. broker[/bold]: private mosquitto on 127.0.0.1:{broker.port}, closed: TLS, a client certificate"
        " per identity from a throwaway site CA, the ACL"
    )
    # the demo's own window on the broker, as a server identity (servers may read every topic)
    feed = Subscriber(
        broker.port, "edge/v1/#", client_id="edge-demo-watch", tls=broker.identity("demo-watch", "server")
    )
    stack.callback(feed.close)

    reader = stack.enter_context(Rdm6300Simulator())
    cfg_path = work / "config.yaml"
    cfg = gateway_config(work, broker.client_config(GATEWAY), reader.url)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))

    collector = _spawn(
        [
            "collector",
            "run",
            *broker.collector_args("demo-collector"),
            "--db",
            str(work / "collector.sqlite"),
            "--metrics",
            "off",
        ],
        work / "collector.log",
    )
    stack.callback(_terminate, collector)
    _wait_topic(feed, "edge/v1/collectors/demo-collector/status", b"online", 30, "collector")
    con.print("[bold]3. collector[/bold] running (shared subscription $share/collectors/edge/v1/+/+/checkin)")

    gateway = _spawn(["gateway", "run", "-c", str(cfg_path)], work / "gateway.log")
    stack.callback(_terminate, gateway)
    _wait_topic(feed, f"edge/v1/{SITE}/{GATEWAY}/status", b"online", 60, "gateway")
    if not reader.client_connected.wait(20):
        raise SystemExit("the gateway did not connect to the simulated card reader; see gateway.log")
    con.print(f"[bold]4. gateway[/bold] running: camera = sample video, reader = simulated RDM6300 at {reader.url}")
    con.print("[bold]5. live check-ins[/bold]")

    names = {p.person_id: p.name for p in roster}
    seen: dict[str, dict[str, Any]] = {}
    taps = list(TAPS)
    tap_t0 = time.monotonic()
    deadline = time.monotonic() + 100
    done_at: float | None = None
    while time.monotonic() < deadline:
        while taps and time.monotonic() - tap_t0 >= taps[0][0]:
            reader.tap(taps.pop(0)[1])
        try:
            topic, payload, _ = feed.messages.get(timeout=0.2)
        except queue.Empty:
            continue
        if topic.endswith("/checkin"):
            ev = json.loads(payload)
            if ev["event_id"] not in seen:
                seen[ev["event_id"]] = ev
                _show(con, ev, names)
        elif topic.endswith(f"{GATEWAY}/health"):
            h = json.loads(payload)
            cams = h.get("cameras", {}).values()
            if not taps and all(c["state"] == "ended" for c in cams) and h["outbox_depth"] == 0:
                done_at = done_at or time.monotonic()
                if time.monotonic() - done_at > 1.0:  # one more health period for stragglers
                    break
    else:
        con.print("[red]timed out waiting for the gateway to finish the video[/red]")

    rc_gw = _terminate(gateway)
    stored = _wait_stored(work / "collector.sqlite", len(seen), timeout=15)
    rc_col = _terminate(collector)

    con.print("[bold]6. attendance[/bold] from the collector's database")
    store = open_store(str(work / "collector.sqlite"), auto_migrate=False)
    write_attendance(store, roster, console=con)
    present = {r["person_id"] for r in store.checkins() if r["decision"] == "granted"}
    store.close()

    ok = stored == len(seen) and present >= EXPECTED_PRESENT and rc_gw == 0 and rc_col == 0
    con.print(
        f"published {len(seen)} check-ins, collector stored {stored}; gateway exit {rc_gw}, "
        f"collector exit {rc_col}; {time.monotonic() - t0:.1f}s"
    )
    con.print("[green]demo OK[/green]" if ok else f"[red]demo FAILED[/red] (logs in {work})")
    return 0 if ok else 1


def _show(con: Console, ev: dict[str, Any], names: dict[str, str]) -> None:
    colour = {"granted": "green", "denied": "red", "unknown": "yellow"}[ev["decision"]]
    who = names.get(ev["person_id"], ev["person_id"]) if ev["person_id"] else "-"
    extra = f"card {ev['card_uid']}" if "card_uid" in ev else ""
    if "distance" in ev:
        extra = f"distance {ev['distance']:.3f}"
    con.print(
        f"   seq {ev['seq']:>3}  {ev['occurred_at']}  {ev['gate']}/{ev['direction']}  "
        f"[{colour}]{ev['decision']:8s}[/{colour}] {ev['method']:5s} {who:20s} {extra}"
    )


def _wait_topic(feed: Subscriber, topic: str, payload: bytes, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            t, p, _ = feed.messages.get(timeout=0.2)
        except queue.Empty:
            continue
        if t == topic and p == payload:
            return
    raise SystemExit(f"the {what} did not come online within {timeout:.0f}s; see its log")


def _wait_stored(db: Path, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        store = open_store(str(db))
        n = store.count()
        store.close()
        if n >= expected:
            return n
        time.sleep(0.2)
    return n
