"""Shared test helpers: bounded waits (no bare sleeps), MQTT watching, video building, config writing."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import yaml

from edge.devtools.mosquitto import MosquittoBroker
from edge.security.pki import Role
from edge.transport.mqtt import MqttSettings, make_client
from edge.transport.subscriber import Subscriber

FIXTURES = Path(__file__).parent / "fixtures"
FACES = FIXTURES / "faces"


def wait_until(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Watcher(Subscriber):
    """A plain MQTT subscriber (edge.transport.subscriber) that tests wait on and publish with.

    On the closed test broker it subscribes as the server identity `test-watcher` (servers read everything), and
    `publish` sends as the identity the ACL lets publish on that topic (edge/security/broker_config.py): a
    gateway's own topics as that gateway, receipts as a collector, commands as an operator — so a test that
    publishes a check-in exercises the same ACL a real gateway meets. Tests of the ACL itself use `client()`."""

    def __init__(self, broker: MosquittoBroker, topic: str = "edge/v1/#", client_id: str = "test-watcher") -> None:
        self.broker = broker
        self._publishers: dict[str, mqtt.Client] = {}
        # its own server identity, named by its client id: two watchers must not replace each other's session
        super().__init__(broker.port, topic, client_id=client_id, tls=broker.identity(client_id, "server"))

    def close(self) -> None:
        for c in self._publishers.values():
            c.disconnect()
            c.loop_stop()
        super().close()

    def wait_for(self, pred: Callable[[str, bytes], bool], timeout: float, what: str) -> tuple[str, bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                topic, payload, _ = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if pred(topic, payload):
                return topic, payload
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.publisher_for(topic).publish(topic, payload, qos=qos).wait_for_publish(5)

    def publisher_for(self, topic: str) -> mqtt.Client:
        """A connected client of the identity that owns `topic` (see the class docstring)."""
        name, role = owner_of(topic)
        if name not in self._publishers:
            self._publishers[name] = client(self.broker, name, role, client_id=f"{name}-test-pub")
        return self._publishers[name]


def owner_of(topic: str) -> tuple[str, Role]:
    """(identity, role) that may publish on `topic` under the site ACL."""
    parts = topic.split("/")
    if len(parts) >= 5 and parts[4] == "receipt":
        return "test-collector", "collector"
    if len(parts) == 6 and parts[4] == "cmd":
        return "test-operator", "operator"
    if len(parts) >= 5 and parts[4] in ("checkin", "status", "health", "device", "cmd"):
        return parts[3], "gateway"
    return "test-watcher-pub", "server"  # not the watcher's own identity: one connection per identity


def client(broker: MosquittoBroker, name: str, role: Role = "gateway", *, client_id: str | None = None) -> mqtt.Client:
    """A connected MQTT 5 client with `name`'s certificate (issued with `role` on first use). The broker knows
    it by `name` whatever `client_id` says (use_username_as_clientid): a second client of the same name replaces
    the first."""
    c = make_client(MqttSettings("127.0.0.1", broker.port, client_id or name, tls=broker.identity(name, role)))
    up = threading.Event()
    c.on_connect = lambda *_a: up.set()
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    if not up.wait(10):
        c.loop_stop()
        raise AssertionError(f"{name} could not connect to the test broker")
    return c


def signed(
    broker: MosquittoBroker,
    gateway: str,
    command: str,
    request: dict[str, Any],
    signer: str = "test-operator",
    role: Role = "operator",
    **kw: Any,
) -> dict[str, Any]:
    """`request` signed for `gateway` of the test site by `signer` (edge/contract/signing.py)."""
    from edge.contract.signing import sign_command
    from edge.security.pki import load_private_key

    tls = broker.identity(signer, role)
    assert tls is not None
    return sign_command(
        site=broker.site,
        gateway=gateway,
        command=command,
        request=request,
        key=load_private_key(tls.key),
        cert_pem=tls.cert.read_text(),
        **kw,
    )


def read_image(path: Path) -> np.ndarray:
    """cv2.imread that fails loudly (OpenCV returns None for a file it cannot read)."""
    img = cv2.imread(str(path))
    assert img is not None, f"cannot read {path}"
    return img


def face_frame(photo: Path, height: int = 300) -> np.ndarray:
    """A 640x360 frame with the photo pasted in the middle."""
    img = cv2.imread(str(photo))
    assert img is not None, photo
    s = height / img.shape[0]
    img = cv2.resize(img, (int(img.shape[1] * s), height))
    canvas = np.full((360, 640, 3), 40, np.uint8)
    x = (640 - img.shape[1]) // 2
    y = (360 - img.shape[0]) // 2
    canvas[y : y + img.shape[0], x : x + img.shape[1]] = img[:, :640]
    return canvas


def write_video(path: Path, segments: list[tuple[Path | None, int]], fps: int = 30) -> int:
    """An MP4 of `frames` frames per segment (a photo, or None for an empty scene). Returns the frame count."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (640, 360))
    assert writer.isOpened()
    n = 0
    for photo, frames in segments:
        frame = face_frame(photo) if photo else np.full((360, 640, 3), 40, np.uint8)
        for _ in range(frames):
            writer.write(frame)
            n += 1
    writer.release()
    return n


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def broker_section(broker: MosquittoBroker | int, gateway_id: str) -> dict[str, Any]:
    """The `broker:` section for `gateway_id` on the closed test broker: its certificate (issued on first use),
    the site CA and CRL. A bare port number (a broker nobody listens on) gives a plaintext section."""
    if isinstance(broker, int):
        return {"host": "127.0.0.1", "port": broker, "insecure_plaintext": True}
    return broker.client_config(gateway_id, "gateway")


def gateway_config(
    tmp: Path, mqtt_broker: MosquittoBroker | int, gateway_id: str, gate: dict[str, Any], roster: str, **extra: Any
) -> Path:
    """A one-gate gateway config for site test-school in `tmp` (its roster, database and gallery there too),
    talking to the test broker with its own certificate; `extra` adds or replaces top-level sections."""
    (tmp / "roster.csv").write_text(roster)
    broker_cfg = {**broker_section(mqtt_broker, gateway_id), **extra.pop("broker", {})}
    data: dict[str, Any] = {
        "site_id": "test-school",
        "gateway_id": gateway_id,
        "gates": [gate],
        "broker": broker_cfg,
        "storage": {"database": str(tmp / "gateway.sqlite")},
        "roster": {"path": str(tmp / "roster.csv")},
        "gallery": {"path": str(tmp / "gallery.npz"), "key_file": str(tmp / "keys" / "gallery.key")},
        "health": {"interval_s": 0.5},
        **extra,
    }
    return write_config(tmp / "config.yaml", data)


def gallery_key(tmp: Path) -> bytes:
    """The gallery key gateway_config(tmp, ...) names (tmp/keys/gallery.key, 0600), created on first use."""
    from edge.security.sealed import new_key_file, read_key_file

    path = tmp / "keys" / "gallery.key"
    if not path.exists():
        new_key_file(path)
    return read_key_file(path)


def payloads(messages: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    return [json.loads(p) for _, p in messages]


def start_collector(db: Path, broker: MosquittoBroker, name: str) -> Any:
    """An in-process collector on its own database with its own certificate (identity `name`, role collector),
    subscribed (shared group `name`) before returning."""
    from edge.central.collector.service import Collector
    from edge.central.store import open_store

    store = open_store(str(db))
    c = Collector(
        store,
        host="127.0.0.1",
        port=broker.port,
        collector_id=name,
        group=name,
        tls=broker.identity(name, "collector"),
    )
    c.start()
    assert c.wait_ready(10), "collector did not subscribe"
    return c


def fuzz_examples(default: int) -> int:
    """Hypothesis examples per fuzz test: `default` in the suite, EDGE_FUZZ_EXAMPLES for a long fuzzing run."""
    import os

    return int(os.environ.get("EDGE_FUZZ_EXAMPLES", default))
