"""`edge collector run`: subscribes to every gateway's check-ins through an MQTT 5 shared subscription,
validates each message and stores it once (by event_id), in batches.

Threads, started and stopped in this order: paho's network thread (`paho-collector-<id>`) only queues what
arrives; the writer thread (`collector-writer-<id>`) takes up to `max_events` messages or what came within
`max_wait_ms` of the first, validates them (compiled schema), and stores the batch in ONE transaction
(store.store_batch, with the optional on_stored hook inside it). Only after that commit does it send each
message's PUBACK (paho manual_ack) and the gateway's receipt ({prefix}/{site}/{gateway}/receipt: seq, event_id,
status) — the whole batch's as one write to the broker (wire.py: paho's per-packet calls were a third of the
collector's CPU): a collector that dies mid-batch has acknowledged nothing of it, the broker re-delivers (and the
gateways re-send on their receipt timeout), and the rows are stored once. A rejected message is acknowledged once
its dead-letter row is committed in the same batch.

No poison message: anything that cannot be parsed or validated — too large, too deep, not UTF-8, not the schema,
even a RecursionError or another exception while handling it — is dead-lettered and acknowledged. The collector
stops (`fatal`, exit code 3) only when its own database cannot be written; the batch then stays unacknowledged.

Receipts never erase data: a receipt always names a valid event_id (UUID) whose row was stored, found duplicate,
or dead-lettered under that event_id in this batch; a message without a valid event_id (and seq) gets none.
Several collectors in the same group split the stream; on PostgreSQL each stores its share in parallel.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt import __version__ as paho_version
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.central.collector import reads, wire
from edge.central.collector.validate import Rejected, parse_checkin
from edge.central.collector.witness import GateWitness
from edge.central.store import CheckinStore, OnStored, Reject
from edge.contract.topics import (
    DEFAULT_PREFIX,
    GatewayTopics,
    checkin_filter,
    collector_status,
    parse_checkin_topic,
    shared,
)
from edge.ops.heartbeat import Heartbeat
from edge.transport.mqtt import MqttSettings, connect_properties, make_client, reason_text

log = logging.getLogger(__name__)
RECEIPTS_IN_FLIGHT = 0
"""No limit on receipts in flight (paho's 0). Any limit makes paho walk its list of outgoing messages on every
PUBACK to find the next one to send (O(window) per receipt: a window of thousands made the collector quadratic,
100 still cost 7 % of its CPU at full rate); without one, paho sends each receipt at once and a PUBACK only
forgets it. The broker acknowledges QoS 1 as it reads it, so nothing piles up there; Mosquitto's Receive Maximum
does not limit QoS 1 from a client."""


@dataclass
class CollectorStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    receipts: int = 0
    batches: int = 0
    disconnects: int = 0
    """Connections lost (the broker closed it, the network failed, or another client took over its session)."""
    rejected_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchSettings:
    max_events: int = 1000
    """At most this many messages per transaction."""
    max_wait_ms: float = 5.0
    """A batch is closed this long after its first message arrived, however small it is."""
    receive_maximum: int = 4000
    """MQTT 5 Receive Maximum: how many unacknowledged QoS 1 messages the broker may send us at once. It must
    exceed max_events, or batches could never fill (the broker would wait for acks that wait for the batch)."""


class _Msg(NamedTuple):
    mid: int
    qos: int
    topic: str
    payload: bytes


class _Outcome(NamedTuple):
    msg: _Msg
    event: dict[str, Any] | None
    rejected: Rejected | None


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
        tls: Any = None,
        batch: BatchSettings | None = None,
        on_stored: OnStored | None = None,
        one_write: bool | None = None,
        witness: GateWitness | None = None,
    ) -> None:
        self.store = store
        self.known_gateways = known_gateways
        """"site/gateway" ids allowed to report, or "site/*" for every gateway of a site (a school bridged to the
        district: its gateways are in the school's PKI, the district knows its bridge); None accepts any (the
        broker's ACL is the first gate)."""
        self.prefix = prefix
        self.topic = shared(group, checkin_filter(prefix))
        self.status_topic = collector_status(collector_id, prefix)
        self.stats = CollectorStats()
        self.batch = batch or BatchSettings()
        self.on_stored = on_stored
        """Runs inside each batch's transaction with the newly stored events (see edge.central.store.base)."""
        self.subscribed = threading.Event()
        self.fatal = threading.Event()
        """Set when the database cannot be written: the caller should stop (messages stay unacknowledged)."""
        self.witness = witness
        """Records in the store that this collector is connected and what it hears of the gateways (witness.py):
        the evidence before any absence notice. None: not recorded (then the notifier holds absence notices)."""
        self._witness_mid: int | None = None
        self.heartbeat: Heartbeat | None = None
        """Beaten by the writer loop (at least every 0.1 s while it moves): what the systemd watchdog checks."""
        self._queue: queue.Queue[_Msg] = queue.Queue()
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name=f"collector-writer-{collector_id}", daemon=True)
        self._settings = MqttSettings(
            host=host,
            port=port,
            client_id=collector_id,
            username=username,
            password=password,
            clean_start=False,
            session_expiry_s=session_expiry_s,
            will=(self.status_topic, b"offline"),
            **({"tls": tls} if tls is not None else {}),
        )
        self._client = make_client(self._settings)
        self._client.max_inflight_messages_set(RECEIPTS_IN_FLIGHT)
        supported = wire.supported(self._client) and reads.supported(self._client)
        if not wire.paho_verified():
            log.warning(
                "paho-mqtt %s is not the verified %s: the collector uses paho's public calls only (slower)",
                paho_version,
                wire.VERIFIED_PAHO,
            )
        self._one_write = supported if one_write is None else one_write
        if self._one_write:
            wire.skip_receipt_pubacks(self._client)
        """A batch's PUBACKs and receipts as one write (wire.py) and buffered reads (reads.py); False: paho's
        public calls only (ack() and publish() per message, its own reads)."""
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.manual_ack_set(True)

    # lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        s = self._settings
        log.info("collector %s connecting to %s:%d, subscribing %s", s.client_id, s.host, s.port, self.topic)
        self._writer.start()
        if self.witness is not None:
            self.witness.start()
            for topic in self.witness.topics:
                self._client.message_callback_add(topic, self._on_witnessed)
        props = connect_properties(s)
        props.ReceiveMaximum = self.batch.receive_maximum
        self._client.connect_async(s.host, s.port, keepalive=s.keepalive_s, clean_start=False, properties=props)
        self._client.loop_start()
        self._client._thread.name = f"paho-collector-{s.client_id}"  # type: ignore[union-attr]

    def wait_ready(self, timeout: float) -> bool:
        return self.subscribed.wait(timeout)

    def stop(self) -> None:
        """The writer finishes what has arrived (its acks and receipts go out), then the connection closes."""
        self._stop.set()
        self._writer.join(30)
        if self._client.is_connected():
            self._client.publish(self.status_topic, b"stopped", qos=1, retain=True).wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()
        if self.witness is not None:
            self.witness.disconnected()
            self.witness.stop()
        log.info("collector stopped: %s", self.stats)

    # paho's thread ------------------------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _ud: Any, flags: Any, rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the collector: %s", reason_text(rc))
            return
        log.info("collector connected (session present: %s)", getattr(flags, "session_present", None))
        if self._one_write:
            reads.install(client)  # the new connection's socket, read 64 KiB at a time (reads.py)
        client.subscribe(self.topic, options=SubscribeOptions(qos=1))
        if self.witness is not None:  # QoS 0: a persistent session must not queue old statuses (witness.py)
            _rc, self._witness_mid = client.subscribe([(t, SubscribeOptions(qos=0)) for t in self.witness.topics])

    def _on_subscribe(self, client: mqtt.Client, _ud: Any, mid: int, rcs: list[ReasonCode], _p: Any) -> None:
        if mid == self._witness_mid:
            if any(rc.is_failure for rc in rcs):
                log.error(
                    "the broker refuses the collector the gateways' status and health (%s): the notifier will hold "
                    "absence notices; regenerate the broker's ACL (edge broker config)",
                    [reason_text(r) for r in rcs],
                )
            return
        if any(rc.is_failure for rc in rcs):
            log.error("subscription to %s refused: %s", self.topic, [reason_text(r) for r in rcs])
            return
        client.publish(self.status_topic, b"online", qos=1, retain=True)
        self.subscribed.set()
        if self.witness is not None:
            self.witness.connected()
        log.info("collector subscribed to %s", self.topic)

    def _on_disconnect(self, _c: mqtt.Client, _ud: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self.subscribed.clear()
        self.stats.disconnects += 1
        if self.witness is not None:
            self.witness.disconnected()
        log.warning("collector disconnected: %s; reconnecting", reason_text(rc))

    def _on_message(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        if self.fatal.is_set():
            return  # not acknowledged: the broker keeps it for a healthy collector
        self.stats.received += 1
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # paho decodes the topic lazily
            topic = bytes(msg._topic).decode("utf-8", errors="replace")
        self._queue.put(_Msg(msg.mid, msg.qos, topic, bytes(msg.payload)))

    def _on_witnessed(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            assert self.witness is not None
            self.witness.message(msg.topic, bytes(msg.payload))
        except Exception:  # a gateway's odd status or health must not stop paho's thread
            log.exception("collector witness: message on %s not understood", msg.topic[:200])

    # the writer's thread ------------------------------------------------------------------------------------
    def _next_batch(self) -> list[_Msg]:
        try:
            first = self._queue.get(timeout=0.1)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch.max_wait_ms / 1000
        while len(batch) < self.batch.max_events:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _write_loop(self) -> None:
        while not self.fatal.is_set():
            if self.heartbeat is not None:
                self.heartbeat.beat()
            batch = self._next_batch()
            if not batch:
                if self._stop.is_set():
                    return
                continue
            self._handle(batch)

    def _check(self, m: _Msg) -> _Outcome:
        """Validation of one message; whatever goes wrong here is this message's fault, never the collector's."""
        try:
            event = parse_checkin(m.topic, m.payload, self.prefix)
            origin = f"{event['site_id']}/{event['gateway_id']}"
            known = self.known_gateways
            if known is not None and origin not in known and f"{event['site_id']}/*" not in known:
                raise Rejected(
                    f"unknown gateway: {origin} is not in the collector's list of gateways",
                    event["event_id"],
                    event["seq"],
                )
            return _Outcome(m, event, None)
        except Rejected as exc:
            return _Outcome(m, None, exc)
        except RecursionError:
            return _Outcome(m, None, Rejected("payload nested too deep (recursion while handling it)"))
        except Exception as exc:
            log.exception("unexpected error handling a message on %s: dead-lettered", m.topic)
            return _Outcome(m, None, Rejected(f"cannot handle the message: {type(exc).__name__}"))

    def _handle(self, batch: list[_Msg]) -> None:
        outcomes = [self._check(m) for m in batch]
        events = [o.event for o in outcomes if o.event is not None]
        rejects = [
            Reject(o.msg.topic, o.rejected.reason, o.msg.payload, o.rejected.event_id)
            for o in outcomes
            if o.rejected is not None
        ]
        try:
            results = iter(self.store.store_batch(events, rejects, on_stored=self.on_stored))
        except Exception as exc:
            log.critical("cannot write to the collector database (%s): stopping without acknowledging", exc)
            self.fatal.set()
            return
        # counted before the receipts go out: whoever sees a receipt also sees the count
        self.stats.batches += 1
        if self.witness is not None and events:
            try:
                self.witness.checkins(events)
            except Exception:  # the evidence is best effort; the batch's acks and receipts must go out
                log.exception("collector witness: check-ins not recorded")
        answers: list[tuple[str, int | None, str | None, str, str]] = []
        for o in outcomes:
            if o.event is not None:
                result = next(results)
                if result == "stored":
                    self.stats.stored += 1
                else:
                    self.stats.duplicates += 1
                answers.append((o.msg.topic, o.event["seq"], o.event["event_id"], result, ""))
            elif o.rejected is not None:
                log.warning("rejected message on %s: %s", o.msg.topic[:200], o.rejected.reason)
                key = o.rejected.reason.split(":", maxsplit=1)[0][:60]
                self.stats.rejected_reasons[key] = self.stats.rejected_reasons.get(key, 0) + 1
                self.stats.rejected += 1
                answers.append((o.msg.topic, o.rejected.seq, o.rejected.event_id, "rejected", o.rejected.reason))
        log.debug("batch of %d committed (%d stored)", len(batch), len(events))
        if self._one_write:  # the batch's PUBACKs, then its receipts, as one write (see wire.py)
            packets = [wire.pubacks(o.msg.mid for o in outcomes if o.msg.qos == 1)]
            for answer in answers:
                receipt = self._receipt_body(*answer)
                if receipt is not None:
                    packets.append(wire.publish_qos1(receipt[0].encode(), wire.next_mid(self._client), receipt[1]))
                    self.stats.receipts += 1
            wire.send_raw(self._client, b"".join(packets))
            return
        for o in outcomes:
            self._client.ack(o.msg.mid, o.msg.qos)
        for answer in answers:
            receipt = self._receipt_body(*answer)
            if receipt is not None:
                self._client.publish(receipt[0], receipt[1], qos=1)
                self.stats.receipts += 1

    def _receipt_body(
        self, topic: str, seq: int | None, event_id: str | None, status: str, reason: str = ""
    ) -> tuple[str, bytes] | None:
        """(receipt topic, payload) answering the check-in received on `topic`, or None when there is no gateway
        to answer or nothing it could match safely (see module docstring)."""
        ids = parse_checkin_topic(topic, self.prefix)
        if ids is None or seq is None or event_id is None:
            return None
        if reason:
            body = json.dumps({"seq": seq, "event_id": event_id, "status": status, "reason": reason[:200]})
        else:  # the common case, formatted directly: seq is an int, event_id a checked UUID, status a constant
            body = f'{{"seq": {seq}, "event_id": "{event_id}", "status": "{status}"}}'
        return GatewayTopics(self.prefix, *ids).receipt, body.encode()
