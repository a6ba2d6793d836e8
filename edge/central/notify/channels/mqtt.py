"""MQTT: each notice published (QoS 1, not retained) to `edge/v1/{site}/notify/{guardian}` for an app backend that
prefers to subscribe. Accepted once the broker's PUBACK arrives.

The connection is opened on the first send and kept; paho's network thread reconnects by itself. The payload
carries `idempotency_key`; the broker does not drop repeats (honours_idempotency is False), a subscriber can.
"""

from __future__ import annotations

import ssl
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.central.notify.channels.base import Accepted, Outcome, RateLimiter, RetryAfter
from edge.central.notify.messages import Notice
from edge.config.central import MqttChannel


def notify_topic(prefix: str, site: str, guardian_id: str) -> str:
    return f"{prefix}/{site}/notify/{guardian_id}"


class Mqtt:
    honours_idempotency = False

    def __init__(self, cfg: MqttChannel, client_id: str | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.limiter = RateLimiter(cfg.rate_per_s, cfg.burst)
        self._client_id = client_id or f"edge-notify-{cfg.name}"
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._lock = threading.Lock()

    def _connect(self) -> mqtt.Client:
        with self._lock:
            if self._client is not None:
                return self._client
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self._client_id, protocol=mqtt.MQTTv5)
            if self.cfg.username:
                client.username_pw_set(self.cfg.username, self.cfg.password)
            if self.cfg.ca and self.cfg.cert and self.cfg.key:
                client.tls_set(
                    ca_certs=self.cfg.ca,
                    certfile=self.cfg.cert,
                    keyfile=self.cfg.key,
                    cert_reqs=ssl.CERT_REQUIRED,
                    tls_version=ssl.PROTOCOL_TLS_CLIENT,
                )
            client.reconnect_delay_set(min_delay=1, max_delay=10)
            client.on_connect = lambda _c, _u, _f, rc, _p: self._connected.set() if not rc.is_failure else None
            client.on_disconnect = lambda *_: self._connected.clear()
            client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
            client.loop_start()
            self._client = client
            return client

    def send(self, notice: Notice) -> Outcome:
        client = self._connect()
        if not self._connected.wait(self.cfg.timeout_s):
            return RetryAfter(None, f"not connected to {self.cfg.host}:{self.cfg.port}")
        topic = notify_topic(self.cfg.topic_prefix, notice.site, notice.guardian_id)
        info = client.publish(topic, notice.payload_bytes(), qos=1)
        try:
            info.wait_for_publish(self.cfg.timeout_s)
        except (RuntimeError, ValueError) as exc:
            return RetryAfter(None, f"publish failed: {exc}")
        if not info.is_published():
            return RetryAfter(None, f"no PUBACK within {self.cfg.timeout_s:.0f}s")
        return Accepted(f"PUBACK mid {info.mid} on {topic}")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.disconnect()
                self._client.loop_stop()
                self._client = None
