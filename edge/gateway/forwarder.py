"""Moves events from the outbox to the broker, in seq order, with a bounded in-flight window.

All state lives on this one thread. The transport's callbacks only put messages on `_inbox`
(paho calls them with its own locks held, so they must never wait for ours).

- Nothing is published while disconnected; paho re-sends its own in-flight messages after a reconnect and
  their PUBACKs still find their seq here.
- After a (re)connect or a failed delivery the window starts at 1 and opens to `max_inflight` on the first
  success (slow start): a returning broker is not flooded and seq order is kept.
- 'No matching subscribers' (no collector online) and refusals keep the event and retry with backoff.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from edge.outbox import Outbox
from edge.transport.base import Ack, AckStatus, Transport

log = logging.getLogger(__name__)


@dataclass
class ForwarderStats:
    published: int = 0
    acked: int = 0
    retries: int = 0
    no_subscribers: int = 0
    refused: int = 0
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
    ) -> None:
        self.outbox = outbox
        self.transport = transport
        self.max_inflight = max_inflight
        self.require_subscriber = require_subscriber
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.stats = ForwarderStats()
        self._inbox: queue.SimpleQueue[Ack | str] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-forwarder", daemon=True)
        self._inflight: dict[int, int] = {}  # transport token -> seq
        self._issued_upto = 0  # highest seq handed to the transport since the last rewind
        self._window = 1
        self._backoff = retry_min_s
        self._paused_until = 0.0
        transport.on_ack = self._inbox.put
        transport.on_connection = lambda up: self._inbox.put("up" if up else "down")

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

    # forwarder thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
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

    def _handle(self, msg: Ack | str) -> None:
        if isinstance(msg, Ack):
            self._on_ack(msg)
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
            self.outbox.ack(seq)
            self.stats.acked += 1
            self._window = self.max_inflight
            self._backoff = self.retry_min_s
            return
        if ack.status is AckStatus.NO_SUBSCRIBERS:
            self.stats.no_subscribers += 1
            self.stats.last_error = "broker has no subscriber for check-ins (is a collector running?)"
        else:
            self.stats.refused += 1
            self.stats.last_error = f"broker refused check-in seq {seq}: {ack.reason}"
        log.warning("%s; keeping seq %d in the outbox, retry in %.1fs", self.stats.last_error, seq, self._backoff)
        self.stats.retries += 1
        self._issued_upto = min(self._issued_upto, seq - 1)
        self._window = 1
        self._paused_until = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.retry_max_s)

    def _pump(self) -> None:
        if not self.transport.connected or time.monotonic() < self._paused_until:
            return
        room = self._window - len(self._inflight)
        if room <= 0:
            return
        busy = set(self._inflight.values())
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
            self._issued_upto = max(self._issued_upto, row.seq)
            self.outbox.mark_attempt(row.seq)
            self.stats.published += 1
            room -= 1
