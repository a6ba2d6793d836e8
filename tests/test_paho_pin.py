"""The collector's fast path (edge/central/collector/wire.py, reads.py) uses paho-mqtt's private internals; it was
verified against one paho release. A different installed paho must fail here — not fall back quietly in
production — so that upgrading paho is a decision: re-read the internals, re-run tests/test_collector_wire.py, then
move VERIFIED_PAHO and the pin together."""

from __future__ import annotations

import tomllib
from pathlib import Path

import paho.mqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.central.collector import reads, wire

ROOT = Path(__file__).resolve().parents[1]


def test_installed_paho_is_the_verified_release() -> None:
    assert paho.mqtt.__version__ == wire.VERIFIED_PAHO, (
        f"paho-mqtt {paho.mqtt.__version__} is installed but the collector's fast path was verified against "
        f"{wire.VERIFIED_PAHO}: re-verify edge/central/collector/wire.py and reads.py, then move the pin"
    )


def test_pins_name_the_verified_release() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"paho-mqtt=={wire.VERIFIED_PAHO}" in deps
    lock = (ROOT / "requirements.lock").read_text().splitlines()
    assert f"paho-mqtt=={wire.VERIFIED_PAHO}" in lock


def test_fast_path_is_used_only_under_the_verified_release(monkeypatch: pytest.MonkeyPatch) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    assert wire.supported(client) and reads.supported(client)
    monkeypatch.setattr(paho.mqtt, "__version__", "2.3.0")
    assert not wire.paho_verified()
    assert not wire.supported(client) and not reads.supported(client)
