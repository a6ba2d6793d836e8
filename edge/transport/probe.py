"""What a broker REALLY lets an identity do: connect with it and publish one QoS 1 message, then read the PUBACK.

Why a publish and not just a connection: Mosquitto accepts any client whose certificate the site CA signed (the
TLS handshake) and checks the ACL only when it publishes. A gateway whose ACL block is missing connects fine and
has every check-in refused — `edge doctor` once said "the broker accepts this gateway" while its first tap came
back "Not authorized" (#20). MQTT 5 says it in the PUBACK: reason code 0x00 (or 0x10, no subscriber) is accepted,
0x87 is "Not authorized". Used by `edge doctor` and by `edge provision gateway --broker-dir` (which waits until the
broker has reloaded its ACL)."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from edge.contract.topics import GatewayTopics
from edge.transport.mqtt import MqttSettings, make_client, reason_text

NOT_AUTHORIZED = 0x87


@dataclass(frozen=True)
class ProbeResult:
    connected: bool
    reason_code: int | None
    """The PUBACK's reason code; None when no PUBACK came (not connected, or no answer in time)."""
    detail: str

    @property
    def accepted(self) -> bool:
        return self.connected and self.reason_code is not None and self.reason_code < 0x80


def probe_topic(topics: GatewayTopics) -> str:
    """Where a gateway's probe goes: `…/<gateway>/cmd/probe/result`, a topic the gateway must be allowed to write
    (command results). Not its retained status (a probe there would read as a status change on the Gates page) and
    not check-ins (the collector would dead-letter it): command results are matched by request_id, so the web
    app and `edge command send` ignore a probe's, and no gateway subscribes to them."""
    return f"{topics.base}/cmd/probe/result"


def probe_publish(settings: MqttSettings, topic: str, timeout_s: float = 10.0) -> ProbeResult:
    """Connect with `settings` (use a client id of its own: a second connection with the running gateway's id
    would kick it off), publish a small QoS 1 probe on `topic`, and report the broker's answer."""
    settings = dataclasses.replace(settings, will=None, online=None, clean_start=True, session_expiry_s=0)
    client = make_client(settings)
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    connected = threading.Event()
    acked = threading.Event()
    refusal: list[str] = []
    codes: list[int] = []

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        if getattr(rc, "is_failure", False):
            refusal.append(reason_text(rc))
        connected.set()

    def on_publish(_c: mqtt.Client, _u: Any, _mid: int, rc: Any, _p: Any = None) -> None:
        codes.append(int(getattr(rc, "value", 0)))
        acked.set()

    def on_connect_fail(_c: mqtt.Client, _u: Any) -> None:  # no listener
        refusal.append("no MQTT session (TCP connection refused)")
        connected.set()

    def on_disconnect(_c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        if not connected.is_set():  # the handshake was refused (a revoked certificate, another CA)
            refusal.append(f"the TLS handshake or the session was refused ({reason_text(rc)})")
            connected.set()

    client.on_connect = on_connect
    client.on_connect_fail = on_connect_fail
    client.on_disconnect = on_disconnect
    client.on_publish = on_publish
    where = f"{settings.host}:{settings.port}"
    deadline = time.monotonic() + timeout_s
    try:
        client.connect_async(settings.host, settings.port, keepalive=settings.keepalive_s)
        client.loop_start()
        if not connected.wait(timeout_s) or refusal:
            why = refusal[0] if refusal else "no answer (TLS refused? certificate revoked or of another CA?)"
            return ProbeResult(False, None, f"{where} refused the connection: {why}")
        body = json.dumps({"request_id": f"probe-{uuid.uuid4()}", "probe": "edge doctor", "ok": True}).encode()
        info = client.publish(topic, body, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return ProbeResult(True, None, f"{where}: the probe could not be sent ({mqtt.error_string(info.rc)})")
        if not acked.wait(max(0.1, deadline - time.monotonic())):
            return ProbeResult(True, None, f"{where}: no PUBACK for the probe on {topic} within {timeout_s:g}s")
        code = codes[0]
        if code == NOT_AUTHORIZED:
            return ProbeResult(True, code, f"{where} refuses publishing on {topic}: PUBACK 0x87 Not authorized")
        if code >= 0x80:
            return ProbeResult(True, code, f"{where} refused the probe on {topic}: PUBACK 0x{code:02x}")
        return ProbeResult(True, code, f"{where} accepts a QoS 1 publish on {topic} (PUBACK 0x{code:02x})")
    finally:
        client.disconnect()
        client.loop_stop()
