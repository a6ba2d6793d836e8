"""Moves events from the outbox to the broker, in seq order, with a bounded in-flight window.

All state lives on this one thread. The transport's callbacks only put messages on `_inbox`
(paho calls them with its own locks held, so they must never wait for ours).

- Nothing is published while disconnected; paho re-sends its own in-flight messages after a reconnect and
  their PUBACKs still find their seq here.
- After a (re)connect or a failed delivery the window starts at 1 and opens to `max_inflight` on the first
  success (slow start): a returning broker is not flooded and seq order is kept.
- 'No matching subscribers' (no collector online) and refusals keep the event and retry with backoff.
- With receipts on (the default), a PUBACK only moves the event to "awaiting receipt": it leaves the outbox
  when the collector's receipt for its seq arrives (the event is committed in the collector's database, or
  dead-lettered there). An event without a receipt after `receipt_timeout_s` is published again, same
  event_id (the collector stores it once and answers again). Events awaiting a receipt count against the
  window, so a missing collector never makes the gateway re-send the whole outbox.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge import jsonstrict
from edge.ops.heartbeat import Heartbeat
from edge.outbox import Outbox
from edge.transport.base import Ack, AckStatus, Transport

log = logging.getLogger(__name__)

MAX_RECEIPT_BYTES = 1024
"""A collector's receipt is about 120 bytes; anything much larger is not one and is not parsed."""


@dataclass
class ForwarderStats:
    published: int = 0
    acked: int = 0
    retries: int = 0
    no_subscribers: int = 0
    refused: int = 0
    confirmed: int = 0
    resent_no_receipt: int = 0
    bad_receipts: int = 0
    """Receipts ignored: oversized, malformed, or without the event_id of the row they name."""
    rejected_by_collector: int = 0
    last_error: str | None = None


class OutboxForwarder:
    def __init__(
        self,
        outbox: Outbox,
        transport: Transport,
        *,
        max_inflight: int = 20,
        require_subscriber: bool = True,
        retry_min_s: float = 0.5,
        retry_max_s: float = 5.0,
        receipt_topic: str | None = None,
        receipt_timeout_s: float = 15.0,
    ) -> None:
        self.outbox = outbox
        self.transport = transport
        self.max_inflight = max_inflight
        self.require_subscriber = require_subscriber
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.stats = ForwarderStats()
        self.receipt_topic = receipt_topic
        self.receipt_timeout_s = receipt_timeout_s
        self._inbox: queue.SimpleQueue[Ack | str | tuple[str, bytes]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-forwarder", daemon=True)
        self._inflight: dict[int, int] = {}  # transport token -> seq
        self._awaiting: dict[int, float] = {}  # seq -> monotonic time of its PUBACK (receipts on)
        self._issued_upto = 0  # highest seq handed to the transport since the last rewind
        self._window = 1
        self._backoff = retry_min_s
        self._paused_until = 0.0
        self.heartbeat: Heartbeat | None = None
        """Beaten every loop (at least every 0.5 s): the systemd watchdog's proof that the outbox is moving."""
        self.on_latency: Callable[[str, float], None] | None = None
        """Metrics hook: ("puback" | "receipt", seconds since the publish), called on the forwarder thread."""
        self._sent_at: dict[int, float] = {}  # seq -> monotonic time of its last publish
        transport.on_ack = self._inbox.put
        transport.on_connection = lambda up: self._inbox.put("up" if up else "down")
        if receipt_topic is not None:
            transport.on_message = self._receipt_arrived
            transport.subscribe(receipt_topic)

    # called from any thread ------------------------------------------------------------------------
    def notify(self) -> None:
        """A new event is in the outbox."""
        self._inbox.put("new")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._inbox.put("stop")
        self._thread.join(timeout)

    def drain(self, timeout: float) -> bool:
        """Wait until the outbox is empty (True) or the timeout passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.depth() == 0:
                return True
            self._stop.wait(0.05)
        return self.outbox.depth() == 0

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    @property
    def awaiting_receipt(self) -> int:
        return len(self._awaiting)

    # forwarder thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            if self.heartbeat is not None:
                self.heartbeat.beat()
            try:
                msg = self._inbox.get(timeout=0.5)
            except queue.Empty:
                msg = "tick"
            try:
                self._handle(msg)
                while True:  # take everything already queued before publishing more
                    try:
                        self._handle(self._inbox.get_nowait())
                    except queue.Empty:
                        break
                self._pump()
            except Exception as exc:  # never let the forwarder die: the outbox keeps the events
                self.stats.last_error = f"forwarder: {exc}"
                log.exception("outbox forwarder error; retrying")
                self._stop.wait(1.0)

    def _handle(self, msg: Ack | str | tuple[str, bytes]) -> None:
        if isinstance(msg, Ack):
            self._on_ack(msg)
        elif isinstance(msg, tuple):
            self._on_receipt(msg[1])
        elif msg == "up":
            self._window = 1
            log.info("broker connected; outbox depth %d", self.outbox.depth())
        elif msg == "down":
            # Keep _inflight: paho re-sends those after reconnecting and their acks must still match.
            self._window = 1

    def _on_ack(self, ack: Ack) -> None:
        seq = self._inflight.pop(ack.token, None)
        if seq is None:
            return  # status messages and other non-outbox publishes
        if ack.status is AckStatus.DELIVERED or (
            ack.status is AckStatus.NO_SUBSCRIBERS and not self.require_subscriber
        ):
            self._latency("puback", seq, pop=self.receipt_topic is None)
            if self.receipt_topic is None:
                self.outbox.ack(seq)
            else:
                self._awaiting[seq] = time.monotonic()
            self.stats.acked += 1
            self._window = self.max_inflight
            self._backoff = self.retry_min_s
            return
        if ack.status is AckStatus.NO_SUBSCRIBERS:
            self.stats.last_error = "broker has no subscriber for check-ins (is a collector running?)"
            self.stats.no_subscribers += 1
        else:
            self.stats.last_error = f"broker refused check-in seq {seq}: {ack.reason}"
            self.stats.refused += 1
        log.warning("%s; keeping seq %d in the outbox, retry in %.1fs", self.stats.last_error, seq, self._backoff)
        self.stats.retries += 1
        self._issued_upto = min(self._issued_upto, seq - 1)
        self._window = 1
        self._paused_until = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.retry_max_s)

    def _receipt_arrived(self, topic: str, payload: bytes) -> None:
        """From the MQTT network thread. An oversized receipt is dropped unread, never queued."""
        if len(payload) > MAX_RECEIPT_BYTES:
            self.stats.bad_receipts += 1
            log.warning("ignoring a %d-byte receipt on %s (max %d)", len(payload), topic, MAX_RECEIPT_BYTES)
            return
        self._inbox.put((topic, payload))

    def _on_receipt(self, payload: bytes) -> None:
        """A receipt removes the outbox row only when it names that row's seq AND event_id: a receipt that
        names no event_id, or another one, erases nothing (a forged or confused receipt cannot lose a check-in)."""
        try:
            body = jsonstrict.loads(payload)  # a repeated key is a RepeatedKey (ValueError): a bad receipt
            seq, event_id, status = int(body["seq"]), body["event_id"], str(body["status"])
            if not isinstance(event_id, str) or not event_id:
                raise TypeError("event_id is not a string")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            self.stats.bad_receipts += 1
            log.warning("ignoring a malformed receipt %r: %s", payload[:200], exc)
            return
        if not self.outbox.ack(seq, event_id):
            if self.outbox.contains(seq):
                # a receipt naming another event_id for a row we still hold: forged or confused. The row stays,
                # and so does its re-send timer (dropping the timer would stall the event until a restart).
                self.stats.bad_receipts += 1
                log.warning("ignoring a receipt for seq %d with an event_id that is not that row's", seq)
                return
            self._awaiting.pop(seq, None)
            self._sent_at.pop(seq, None)
            return  # a second receipt (the event was re-sent and confirmed already)
        self._awaiting.pop(seq, None)
        self._latency("receipt", seq, pop=True)
        self.stats.confirmed += 1
        if status == "rejected":
            self.stats.rejected_by_collector += 1
            self.stats.last_error = f"collector rejected seq {seq}: {body.get('reason', '')}"
            log.error("%s (kept in the collector's dead-letter table)", self.stats.last_error)

    def _latency(self, kind: str, seq: int, *, pop: bool) -> None:
        sent = self._sent_at.pop(seq, None) if pop else self._sent_at.get(seq)
        if sent is not None and self.on_latency is not None:
            self.on_latency(kind, time.monotonic() - sent)

    def _expire_receipts(self) -> None:
        if not self._awaiting:
            return
        cutoff = time.monotonic() - self.receipt_timeout_s
        expired = [seq for seq, at in self._awaiting.items() if at < cutoff]
        if not expired:
            return
        for seq in expired:
            del self._awaiting[seq]
        self.stats.resent_no_receipt += len(expired)
        self.stats.last_error = (
            f"no receipt for {len(expired)} check-in(s) in {self.receipt_timeout_s:.0f}s: re-sending"
        )
        log.warning("%s (from seq %d; is a collector running?)", self.stats.last_error, min(expired))
        self._issued_upto = min(self._issued_upto, min(expired) - 1)

    def _pump(self) -> None:
        self._expire_receipts()
        if not self.transport.connected or time.monotonic() < self._paused_until:
            return
        room = self._window - len(self._inflight) - len(self._awaiting)
        if room <= 0:
            return
        busy = set(self._inflight.values()) | set(self._awaiting)
        for row in self.outbox.pending(self._issued_upto, room + len(busy)):
            if room <= 0:
                break
            if row.seq in busy:
                continue
            try:
                token = self.transport.publish(row.topic, row.payload.encode(), qos=1, retain=False)
            except Exception as exc:
                self.stats.last_error = f"publish failed: {exc}"
                log.warning("publish of seq %d failed: %s", row.seq, exc)
                return
            self._inflight[token] = row.seq
            self._sent_at[row.seq] = time.monotonic()
            self._issued_upto = max(self._issued_upto, row.seq)
            self.outbox.mark_attempt(row.seq)
            self.stats.published += 1
            room -= 1
