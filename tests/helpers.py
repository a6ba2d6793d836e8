"""Shared test helpers: bounded waits (no bare sleeps), MQTT watching, video building, config writing."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from edge.devtools.subscriber import Subscriber

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
    """A plain MQTT subscriber (edge.devtools.subscriber) that tests wait on and publish with."""

    def __init__(self, port: int, topic: str = "edge/v1/#", client_id: str = "test-watcher") -> None:
        super().__init__(port, topic, client_id=client_id)

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
        self.client.publish(topic, payload, qos=qos).wait_for_publish(5)


def face_frame(photo: Path, height: int = 300) -> np.ndarray:
    """A 640x360 frame with the photo pasted in the middle."""
    img = cv2.imread(str(photo))
    s = height / img.shape[0]
    img = cv2.resize(img, (int(img.shape[1] * s), height))
    canvas = np.full((360, 640, 3), 40, np.uint8)
    x = (640 - img.shape[1]) // 2
    y = (360 - img.shape[0]) // 2
    canvas[y : y + img.shape[0], x : x + img.shape[1]] = img[:, :640]
    return canvas


def write_video(path: Path, segments: list[tuple[Path | None, int]], fps: int = 30) -> int:
    """An MP4 of `frames` frames per segment (a photo, or None for an empty scene). Returns the frame count."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 360))
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


def gateway_config(tmp: Path, port: int, gateway_id: str, gate: dict[str, Any], roster: str, **extra: Any) -> Path:
    """A one-gate gateway config for site test-school in `tmp` (its roster, database and gallery there too),
    talking to the test broker on `port`; `extra` adds or replaces top-level sections."""
    (tmp / "roster.csv").write_text(roster)
    data: dict[str, Any] = {
        "site_id": "test-school",
        "gateway_id": gateway_id,
        "gates": [gate],
        "broker": {"host": "127.0.0.1", "port": port},
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


def start_collector(db: Path, port: int, name: str) -> Any:
    """An in-process collector on its own database, subscribed (shared group `name`) before returning."""
    from edge.central.collector.service import Collector
    from edge.central.store import open_store

    store = open_store(str(db))
    c = Collector(store, host="127.0.0.1", port=port, collector_id=name, group=name)
    c.start()
    assert c.wait_ready(10), "collector did not subscribe"
    return c


def fuzz_examples(default: int) -> int:
    """Hypothesis examples per fuzz test: `default` in the suite, EDGE_FUZZ_EXAMPLES for a long fuzzing run."""
    import os

    return int(os.environ.get("EDGE_FUZZ_EXAMPLES", default))
