"""MQTT adapter on paho-mqtt 2 (MQTT 5). paho's network thread reconnects by itself with backoff and resends
its own unacknowledged QoS 1 messages after a reconnect."""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.security.pki import TlsFiles
from edge.transport.base import Ack, AckCallback, AckStatus, ConnectionCallback, MessageCallback

log = logging.getLogger(__name__)
paho_log = logging.getLogger(f"{__name__}.paho")
"""paho's own log (socket errors, exceptions in callbacks) at WARNING and above: why a connection dropped or a
reconnect failed is otherwise invisible (paho reports a lost connection only as "Unspecified error")."""
paho_log.setLevel(logging.WARNING)

NO_MATCHING_SUBSCRIBERS = 0x10


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    clean_start: bool = True
    session_expiry_s: int = 0
    will: tuple[str, bytes] | None = None
    """(topic, payload) published retained by the broker if we vanish."""
    online: tuple[str, bytes] | None = None
    """(topic, payload) published retained on every (re)connect."""
    tls: TlsFiles | None = None
    """The site CA and this client's certificate and key (edge/security/pki.py). None is plaintext, allowed only
    where the caller's config says `insecure_plaintext` (it is the caller that refuses otherwise)."""


def make_client(settings: MqttSettings) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=True,
    )
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.password)
    if settings.will is not None:
        client.will_set(settings.will[0], settings.will[1], qos=1, retain=True)
    if settings.tls is not None:
        _check_readable(settings.tls)
        client.tls_set(
            ca_certs=str(settings.tls.ca),
            certfile=str(settings.tls.cert),
            keyfile=str(settings.tls.key),
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,  # checks the broker's name against its certificate
        )
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    client.max_queued_messages_set(0)
    client.enable_logger(paho_log)
    return client


def _check_readable(tls: TlsFiles) -> None:
    """A missing CA/cert/key is a configuration error said in words, not an ssl traceback from paho."""
    for what, path in (("CA certificate", tls.ca), ("certificate", tls.cert), ("key", tls.key)):
        if not path.is_file():
            raise FileNotFoundError(f"TLS {what} not found: {path}")


def connect_properties(settings: MqttSettings) -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if settings.session_expiry_s:
        props.SessionExpiryInterval = settings.session_expiry_s
    return props


def reason_text(rc: Any) -> str:
    return str(getattr(rc, "getName", lambda: rc)())


class MqttTransport:
    """Publisher over MQTT 5. Acks are reported through `on_ack` from paho's thread (never blocks)."""

    def __init__(self, settings: MqttSettings, *, max_inflight: int = 20) -> None:
        self.settings = settings
        self.on_ack: AckCallback | None = None
        self.on_connection: ConnectionCallback | None = None
        self.on_message: MessageCallback | None = None
        self._subscriptions: list[str] = []
        self._connected = threading.Event()
        self._client = make_client(settings)
        # paho's own window must not be smaller than ours, or it would queue our publishes in memory.
        self._client.max_inflight_messages_set(max_inflight + 5)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._client.on_connect_fail = self._on_connect_fail
        self.last_error: str | None = None
        self.failed_connects = 0
        """Connection attempts that failed before the broker answered (TCP or TLS), since the last success."""

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def start(self) -> None:
        s = self.settings
        log.info("connecting to MQTT broker %s:%d as %s", s.host, s.port, s.client_id)
        self._client.connect_async(
            s.host,
            s.port,
            keepalive=s.keepalive_s,
            clean_start=s.clean_start,
            properties=connect_properties(s),
        )
        self._client.loop_start()

    def subscribe(self, topic: str) -> None:
        self._subscriptions.append(topic)
        if self.connected:
            self._client.subscribe(topic, qos=1)

    def resubscribe(self, topic: str) -> None:
        """SUBSCRIBE again on the live connection: the broker replaces the subscription and re-sends the retained
        messages it matches (MQTT 3.1.1 §3.8.4; MQTT 5 with retain handling 0, paho's default). No UNSUBSCRIBE
        first, so nothing published in between is missed. Offline: nothing, the next connect subscribes anyway."""
        if self.connected:
            self._client.subscribe(topic, qos=1)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        return int(info.mid)

    def stop(self, final: tuple[str, bytes] | None = None, timeout: float = 2.0) -> None:
        if final is not None and self.connected:
            info = self._client.publish(final[0], final[1], qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("could not publish final status: %s", exc)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    # paho callbacks (network thread) --------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _ud: Any, _flags: Any, rc: ReasonCode, _props: Any) -> None:
        if rc.is_failure:
            self.last_error = f"broker refused the connection: {reason_text(rc)}"
            log.error("%s (check broker.username / broker.password)", self.last_error)
            return
        log.info("connected to MQTT broker %s:%d", self.settings.host, self.settings.port)
        self.failed_connects = 0
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        if self.settings.online is not None:
            client.publish(self.settings.online[0], self.settings.online[1], qos=1, retain=True)
        self._connected.set()
        if self.on_connection:
            self.on_connection(True)

    def _on_disconnect(self, _c: mqtt.Client, _ud: Any, _flags: Any, rc: ReasonCode, _props: Any) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was:
            self.last_error = f"disconnected from broker: {reason_text(rc)}"
            log.warning("%s; paho reconnects by itself", self.last_error)
        if self.on_connection:
            self.on_connection(False)

    def _on_connect_fail(self, _c: mqtt.Client, _ud: Any) -> None:
        """A (re)connect that failed before CONNACK: the broker down, the port closed, a TLS handshake refused
        (a revoked or expired certificate, a CRL the broker cannot read). Said on the 1st, 2nd, 4th, 8th … and
        every 100th failure of an outage, so a gateway that cannot get back is visible in its log without a line
        every 10 s. paho does not hand the exception to this callback; `edge doctor` tells which of those it is."""
        self.failed_connects += 1
        n = self.failed_connects
        if n & (n - 1) == 0 or n % 100 == 0:
            self.last_error = f"cannot reach the broker {self.settings.host}:{self.settings.port} ({n} tries)"
            log.warning("%s; still trying", self.last_error)

    def _on_message(self, _c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        if self.on_message is not None:
            self.on_message(msg.topic, bytes(msg.payload))

    def _on_publish(self, _c: mqtt.Client, _ud: Any, mid: int, rc: ReasonCode, _props: Any) -> None:
        if self.on_ack is None:
            return
        value = rc.value if isinstance(rc, ReasonCode) else int(rc)
        if value == NO_MATCHING_SUBSCRIBERS:
            status = AckStatus.NO_SUBSCRIBERS
        elif value >= 0x80:
            status = AckStatus.REFUSED
        else:
            status = AckStatus.DELIVERED
        self.on_ack(Ack(mid, status, reason_text(rc)))
