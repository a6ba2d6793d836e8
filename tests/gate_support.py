"""Shared by the gate controller tests (test_gate_devices, the web app's gates and browser tests): a gateway whose
gate controller runs the real firmware in simavr, its collector, and the MQTT messages it publishes."""

from __future__ import annotations

import json
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from firmware_bridge.simulators.avr_sim import AvrGateSim
from firmware_bridge.wiegand import encode
from tests.helpers import Watcher, gateway_config, signed, start_collector, wait_until

RELAY1, BUZZER, LED_RED, LED_GREEN = "B0", "B2", "B3", "B4"


ROSTER = "person_id,name,class,card_uid\nada,Ada Lovelace,7A,007B3039\nbob,Bob Em,7B,0F00A1B2C3\n"


ADA = bytes([0x7B, 0x30, 0x39])


STRANGER = bytes([0x01, 0x02, 0x03])


BASE = "edge/v1/test-school/gw-dev"


def config(
    tmp: Path, broker_port: MosquittoBroker | int, sim: AvrGateSim, top: dict[str, Any] | None = None, **gate_extra: Any
) -> Path:
    """The one-gate config; `top` adds or replaces top-level sections, `gate_extra` keys of the gate."""
    gate: dict[str, Any] = {
        "id": "main-in",
        "direction": "in",
        "mode": "card",
        "controller": {"id": "ctl-1", "port": sim.port, "pulse_ms": 400, "door_held_open_s": 1},
        **gate_extra,
    }
    return gateway_config(tmp, broker_port, "gw-dev", gate, ROSTER, **(top or {}))


@dataclass
class Rig:
    sim: AvrGateSim
    gw: Gateway
    collector: Any
    watcher: Watcher
    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)

    def tap(self, data: bytes) -> None:
        self.sim.wiegand("A", encode(data))

    def messages(self, suffix: str, timeout: float, what: str, **match: Any) -> dict[str, Any]:
        """The first message on BASE/suffix matching `match` not returned before (in arrival order)."""

        def ok(topic: str, body: dict[str, Any]) -> bool:
            return topic == f"{BASE}/{suffix}" and all(body.get(k) == v for k, v in match.items())

        deadline = time.monotonic() + timeout
        while True:
            for i, (topic, body) in enumerate(self.seen):
                if i not in self.taken and ok(topic, body):
                    self.taken.add(i)
                    return body
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            try:
                topic, payload, _ = self.watcher.messages.get(timeout=left)
            except queue.Empty:
                continue
            try:
                body = json.loads(payload)
            except ValueError:  # status: online / offline / stopped
                body = {"text": payload.decode(errors="replace")}
            self.seen.append((topic, body if isinstance(body, dict) else {"value": body}))

    def command(self, name: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
        """Send a command signed by the test operator (raw bytes are sent as they are, unsigned)."""
        if isinstance(body, dict):
            body = signed(self.watcher.broker, "gw-dev", name, body)
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.watcher.publish(f"{BASE}/cmd/{name}", payload)
        return self.messages(f"cmd/{name}/result", 5, f"result of {name}")


def start_rig(tmp: Path, broker: MosquittoBroker, sim: AvrGateSim, watcher: Watcher, **kw: Any) -> Rig:
    gate_extra = kw.pop("gate_extra", {})
    top = kw.pop("top", None)
    collector = start_collector(tmp / "collector.sqlite", broker, "col-dev")
    gw = Gateway(load_config(config(tmp, broker, sim, top, **gate_extra)), **kw)
    gw.start()
    rig = Rig(sim, gw, collector, watcher)
    wait_until(lambda: gw.devices["main-in"].controller.up, 10, "controller link up")
    rig.messages("device", 5, "controller link event", kind="link", active=True)
    return rig


def stop_rig(r: Rig) -> None:
    r.gw.stop()
    r.collector.stop()
    r.collector.store.close()
