"""Gate hardware figures, on the real firmware in simavr with the real gateway and a real Mosquitto:

- card at the reader -> relay pin: from the Wiegand frame's last bit to relay 1 rising (simulated time, which
  the harness paces to the wall clock);
- card -> MQTT: from the last bit to the check-in arriving at a subscriber on the broker (wall clock);
- reconnect: the controller's cable pulled and put back; from replug to the link up again (and from unplug to
  the gateway noticing);
- flash and RAM use of the image.
"""

from __future__ import annotations

import queue
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from edge.bench.stats import summary
from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from edge.transport.subscriber import Subscriber
from firmware_bridge.controller import card_uid
from firmware_bridge.simulators.avr_sim import FIRMWARE_DIR, AvrGateSim, build
from firmware_bridge.wiegand import encode

BIT_INTERVAL_US = 1000
"""Wiegand bit spacing used here; readers send a bit every 0.2-2 ms."""


def firmware_size(build_dir: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE_DIR), f"BUILD={build_dir}", "size"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"flash (\d+) of (\d+) bytes.*static RAM (\d+) of (\d+) bytes", out)
    if not m:
        return {"raw": out.strip()}
    flash, flash_total, ram, ram_total = map(int, m.groups())
    return {"flash_bytes": flash, "flash_total": flash_total, "static_ram_bytes": ram, "ram_total": ram_total}


def bench_gate(taps: int = 200, gap_s: float = 0.15, replugs: int = 5, pulse_ms: int = 100) -> dict[str, Any]:
    """Run the bench in a temporary folder (build, broker, databases), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        return _bench_gate(Path(tmp), taps, gap_s, replugs, pulse_ms)


def _bench_gate(work: Path, taps: int, gap_s: float, replugs: int, pulse_ms: int) -> dict[str, Any]:
    build_dir = work / "build"
    elf, harness = build(build_dir)
    result: dict[str, Any] = {"firmware": firmware_size(build_dir), "taps": taps}
    cards = [bytes([0x10 + i // 65536, (i // 256) % 256, i % 256]) for i in range(taps)]
    (work / "roster.csv").write_text(
        "person_id,name,class,card_uid\n" + "".join(f"p{i},Person {i},1A,{card_uid(b)}\n" for i, b in enumerate(cards))
    )
    with (
        MosquittoBroker(work / "mosquitto", site="bench") as broker,
        AvrGateSim(elf, harness, work / "gate-tty") as sim,
    ):
        cfg = {
            "site_id": "bench",
            "gateway_id": "gw",
            "gates": [
                {
                    "id": "lane",
                    "direction": "in",
                    "mode": "card",
                    "controller": {"id": "ctl", "port": sim.port, "pulse_ms": pulse_ms, "led_ms": 50},
                }
            ],
            # the closed broker (#6): TLS with the gateway's own certificate, as in production
            "broker": {**broker.client_config("gw"), "receipts": False, "require_subscriber": False},
            "storage": {"database": str(work / "gw.sqlite")},
            "roster": {"path": str(work / "roster.csv")},
        }
        (work / "config.yaml").write_text(yaml.safe_dump(cfg))
        sub = Subscriber(
            broker.port, "edge/v1/bench/gw/checkin", client_id="bench-gate", tls=broker.identity("bench-gate", "server")
        )
        gw = Gateway(load_config(work / "config.yaml"))
        gw.start()
        try:
            devices = gw.devices["lane"]
            deadline = time.monotonic() + 10
            while not devices.controller.up and time.monotonic() < deadline:
                time.sleep(0.05)
            relay_ms: list[float] = []
            mqtt_ms: list[float] = []
            missing = 0
            for card in cards:
                before = sim.changes("B0")
                bits = encode(card)
                last_bit_us, last_bit_wall = sim.wiegand("A", bits, interval_us=BIT_INTERVAL_US)
                try:
                    arrived = sub.messages.get(timeout=5).at_monotonic
                    mqtt_ms.append((arrived - last_bit_wall) * 1000)
                    on = sim.wait_pin("B0", 1, 5, after_us=before[-1].sim_us if before else -1)
                    relay_ms.append((on.sim_us - last_bit_us) / 1000)
                except (queue.Empty, TimeoutError):
                    missing += 1
                time.sleep(gap_s)  # pacing between cards, as at a gate
            result["card_to_relay_ms"] = summary(relay_ms, 2)
            result["card_to_mqtt_ms"] = summary(mqtt_ms, 2)
            result["missing"] = missing
            # the frame itself comes before "last bit": add it for card-at-the-reader figures
            result["wiegand_frame_ms"] = len(encode(cards[0])) * BIT_INTERVAL_US / 1000
            reconnect_s: list[float] = []
            detect_s: list[float] = []
            for _ in range(replugs):
                pulled = time.monotonic()
                sim.unplug()
                while devices.controller.up and time.monotonic() - pulled < 10:
                    time.sleep(0.005)
                detect_s.append(time.monotonic() - pulled)
                time.sleep(1.0)  # unplugged for a second
                replugged = time.monotonic()
                sim.replug()
                while not devices.controller.up and time.monotonic() - replugged < 15:
                    time.sleep(0.005)
                reconnect_s.append(time.monotonic() - replugged)
            result["firmware"]["max_stack_bytes"] = sim.max_stack_bytes()
            result["unplug_detected_s"] = summary(detect_s, 2)
            result["reconnect_after_replug_s"] = summary(reconnect_s, 2)
        finally:
            gw.stop()
            sub.close()
    return result
