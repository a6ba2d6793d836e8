"""`edge collector run`: subscribes to every gateway's check-ins through an MQTT 5 shared subscription,
validates each message and stores it once (by event_id).

The PUBACK for a message is sent by hand (paho manual_ack) only after the row is committed, and a rejected
message is acknowledged once its dead-letter row is written: a collector that dies or cannot write gets it
again (at-least-once on the wire, exactly-once in the table). After the commit the collector also sends the
gateway a receipt ({prefix}/{site}/{gateway}/receipt: seq, event_id, status): the gateway deletes an event from
its outbox only on that receipt, so an event the broker delivered to some other subscriber while no collector
was running is sent again, never lost. Several collectors
in the same group split the stream; all must write to the same database (or a shared PostgreSQL, later).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.collector.store import CheckinStore
from edge.collector.validate import Rejected, parse_checkin
from edge.topics import DEFAULT_PREFIX, GatewayTopics, checkin_filter, collector_status, parse_checkin_topic, shared
from edge.transport.mqtt import MqttSettings, connect_properties, make_client, reason_text

log = logging.getLogger(__name__)


@dataclass
class CollectorStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    receipts: int = 0
    rejected_reasons: dict[str, int] = field(default_factory=dict)


class Collector:
    def __init__(
        self,
        store: CheckinStore,
        *,
        host: str,
        port: int,
        collector_id: str = "collector-1",
        group: str = "collectors",
        prefix: str = DEFAULT_PREFIX,
        username: str | None = None,
        password: str | None = None,
        session_expiry_s: int = 3600,
        known_gateways: set[str] | None = None,
    ) -> None:
        self.store = store
        self.known_gateways = known_gateways
        """"site/gateway" ids allowed to report; None accepts any (the broker's ACL is the first gate)."""
        self.prefix = prefix
        self.topic = shared(group, checkin_filter(prefix))
        self.status_topic = collector_status(collector_id, prefix)
        self.stats = CollectorStats()
        self.subscribed = threading.Event()
        self._settings = MqttSettings(
            host=host,
            port=port,
            client_id=collector_id,
            username=username,
            password=password,
            clean_start=False,
            session_expiry_s=session_expiry_s,
            will=(self.status_topic, b"offline"),
        )
        self._client = make_client(self._settings)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.manual_ack_set(True)
        self.fatal = threading.Event()
        """Set when the database cannot be written: the caller should stop (messages stay unacknowledged)."""

    def start(self) -> None:
        s = self._settings
        log.info("collector %s connecting to %s:%d, subscribing %s", s.client_id, s.host, s.port, self.topic)
        self._client.connect_async(
            s.host, s.port, keepalive=s.keepalive_s, clean_start=False, properties=connect_properties(s)
        )
        self._client.loop_start()

    def wait_ready(self, timeout: float) -> bool:
        return self.subscribed.wait(timeout)

    def stop(self) -> None:
        if self._client.is_connected():
            self._client.publish(self.status_topic, b"stopped", qos=1, retain=True).wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()
        log.info("collector stopped: %s", self.stats)

    def _on_connect(self, client: mqtt.Client, _ud: Any, flags: Any, rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the collector: %s", reason_text(rc))
            return
        log.info("collector connected (session present: %s)", getattr(flags, "session_present", None))
        client.subscribe(self.topic, options=SubscribeOptions(qos=1))

    def _on_subscribe(self, client: mqtt.Client, _ud: Any, _mid: int, rcs: list[ReasonCode], _p: Any) -> None:
        if any(rc.is_failure for rc in rcs):
            log.error("subscription to %s refused: %s", self.topic, [reason_text(r) for r in rcs])
            return
        client.publish(self.status_topic, b"online", qos=1, retain=True)
        self.subscribed.set()
        log.info("collector subscribed to %s", self.topic)

    def _on_disconnect(self, _c: mqtt.Client, _ud: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self.subscribed.clear()
        log.warning("collector disconnected: %s; reconnecting", reason_text(rc))

    def _on_message(self, client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        if self.fatal.is_set():
            return  # not acknowledged: the broker keeps it for a healthy collector
        self.stats.received += 1
        try:
            try:
                event = parse_checkin(msg.topic, bytes(msg.payload), self.prefix)
                origin = f"{event['site_id']}/{event['gateway_id']}"
                if self.known_gateways is not None and origin not in self.known_gateways:
                    raise Rejected(f"unknown gateway: {origin} is not in the collector's list of gateways")
            except Rejected as exc:
                self._reject(msg.topic, exc.reason, bytes(msg.payload))
                client.ack(msg.mid, msg.qos)
                self._receipt(client, msg.topic, *_ids(bytes(msg.payload)), "rejected", exc.reason)
                return
            result = self.store.insert(event)
        except Exception as exc:
            log.critical("cannot write to the collector database (%s): stopping without acknowledging", exc)
            self.fatal.set()
            return
        # counted before the receipt goes out: whoever sees the receipt also sees the count
        if result == "stored":
            self.stats.stored += 1
            log.info(
                "stored %s/%s seq=%d %s %s",
                event["site_id"],
                event["gateway_id"],
                event["seq"],
                event["decision"],
                event["person_id"],
            )
        else:
            self.stats.duplicates += 1
            log.debug("duplicate %s ignored", event["event_id"])
        client.ack(msg.mid, msg.qos)
        self._receipt(client, msg.topic, event["seq"], event["event_id"], result)

    def _receipt(
        self, client: mqtt.Client, topic: str, seq: object, event_id: object, status: str, reason: str = ""
    ) -> None:
        ids = parse_checkin_topic(topic, self.prefix)
        if ids is None or not isinstance(seq, int) or isinstance(seq, bool):
            return  # not from a gateway we could answer
        body: dict[str, object] = {"seq": seq, "event_id": event_id, "status": status}
        if reason:
            body["reason"] = reason[:200]
        client.publish(GatewayTopics(self.prefix, *ids).receipt, json.dumps(body).encode(), qos=1)
        self.stats.receipts += 1

    def _reject(self, topic: str, reason: str, payload: bytes) -> None:
        log.warning("rejected message on %s: %s", topic, reason)
        self.store.reject(topic, reason, payload)
        # counted once the dead-letter row is committed, like stored/duplicates
        key = reason.split(":", maxsplit=1)[0][:60]
        self.stats.rejected_reasons[key] = self.stats.rejected_reasons.get(key, 0) + 1
        self.stats.rejected += 1


def _ids(payload: bytes) -> tuple[object, object]:
    """Best effort (seq, event_id) of a rejected payload, so its gateway can stop re-sending it."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    return data.get("seq"), data.get("event_id")
