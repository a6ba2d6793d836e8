"""Host side of the link's reliability layer (PROTOCOL.md "Reliability"): one thread per port.

The thread `link-<name>` owns the port (any pyserial URL), reconnects with backoff when it is unplugged,
says HELLO and waits for HELLO_REPLY, sends a HEARTBEAT every `heartbeat_s`, and runs stop-and-wait for
reliable frames: one outstanding frame, retransmitted after `retransmit_s` up to `max_retries` times, ACKed
by the peer. Reliable frames from the peer are ACKed after they are handed on; a repeated seq (our ACK was
lost) is ACKed again and not handed on twice. Nothing here blocks the caller: `send()` queues and returns a
Future-like `Pending` that the caller may wait on with a timeout.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import serial

from firmware_bridge.link.frames import HB_NO_HOST, PROTOCOL_VERSION, RELIABLE, Frame, FrameDecoder, FrameType

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """A reliable frame on its way: `done` is set when the peer ACKed it or it was given up."""

    frame_type: int
    payload: bytes
    done: threading.Event = field(default_factory=threading.Event)
    acked: bool = False
    error: str | None = None
    attempts: int = 0
    expires_at: float | None = None
    """Monotonic time after which it is not sent any more (an "open the gate" must not run minutes late)."""
    seq: int | None = None
    """The link seq it went out with (set on the link thread when it is first sent); RESULT frames name it."""

    def wait(self, timeout: float) -> bool:
        """True when the peer acknowledged the frame within `timeout`."""
        return self.done.wait(timeout) and self.acked


@dataclass
class LinkStats:
    connections: int = 0
    sent: int = 0
    retransmits: int = 0
    given_up: int = 0
    received: int = 0
    duplicates: int = 0
    heartbeats: int = 0


class LinkSession:
    def __init__(
        self,
        name: str,
        port: str,
        on_frame: Callable[[Frame], None],
        *,
        on_heartbeat: Callable[[bytes], None] | None = None,
        on_link: Callable[[bool], None] | None = None,
        baudrate: int = 115200,
        retransmit_s: float = 0.1,
        max_retries: int = 5,
        heartbeat_s: float = 1.0,
        peer_timeout_s: float = 3.0,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 5.0,
    ) -> None:
        self.name = name
        self.port = port
        self.on_frame = on_frame
        """Called on the link thread for every reliable frame from the peer (events, results), once each."""
        self.on_heartbeat = on_heartbeat
        """Called on the link thread with the payload of each HEARTBEAT from the peer."""
        self.on_link = on_link
        """Called on the link thread when the link comes up (handshake done) and when it goes down."""
        self.baudrate = baudrate
        self.retransmit_s = retransmit_s
        self.max_retries = max_retries
        self.heartbeat_s = heartbeat_s
        self.peer_timeout_s = peer_timeout_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.state = "starting"
        self.peer_version: tuple[int, int, int] | None = None
        self.capabilities = 0
        self.last_error: str | None = None
        self.stats = LinkStats()
        self.decoder = FrameDecoder()
        self.up = threading.Event()
        """Set while the handshake has completed and the peer is alive."""
        self._outbox: queue.Queue[Pending] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"link-{name}", daemon=True)
        self._seq = 0
        self._peer_seq: int | None = None
        self._ser: serial.SerialBase | None = None

    # any thread ----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def send(self, frame_type: int, payload: bytes = b"", *, ttl_s: float | None = None) -> Pending:
        """Queue a reliable frame (a command); never blocks. With `ttl_s`, it is given up ("expired") unless it
        goes out within that time."""
        pending = Pending(frame_type, payload, expires_at=None if ttl_s is None else time.monotonic() + ttl_s)
        self._outbox.put(pending)
        ser = self._ser
        cancel = getattr(ser, "cancel_read", None)
        if cancel is not None:  # wake the link thread out of its read (real ports and ptys): no 20 ms wait
            with contextlib.suppress(OSError, AttributeError, TypeError, ValueError):  # port closed under us
                cancel()
        return pending

    # link thread ---------------------------------------------------------------------------------------
    def _run(self) -> None:
        delay = self.reconnect_min_s
        while not self._stop.is_set():
            try:
                ser = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.02)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._fail(f"cannot open {self.port}: {exc}")
                self._stop.wait(delay)
                delay = min(delay * 2, self.reconnect_max_s)
                continue
            self.stats.connections += 1
            self._ser = ser
            delay = self.reconnect_min_s
            try:
                self._session(ser)
            except (serial.SerialException, OSError) as exc:
                self._fail(f"lost {self.port}: {exc}")
            finally:
                was_up = self.up.is_set()
                self.up.clear()
                self._ser = None
                ser.close()
                if was_up:
                    self._hand_on(self.on_link, False, "link down")
            if not self._stop.is_set():
                self._stop.wait(delay)
        self.state = "stopped"

    def _session(self, ser: serial.SerialBase) -> None:
        self.state = "handshake"
        self._peer_seq = None
        self._current: Pending | None = None
        try:
            self._exchange(ser)
        finally:
            pending = self._current
            if pending is not None and pending.frame_type != FrameType.HELLO and not pending.done.is_set():
                self._give_up(pending, "link lost")

    def _exchange(self, ser: serial.SerialBase) -> None:
        hello = Pending(FrameType.HELLO, bytes([PROTOCOL_VERSION, 0]))
        current: Pending | None = hello
        current_seq = self._next_seq()
        sent_at = 0.0
        last_heartbeat = 0.0
        last_heard = time.monotonic()
        while not self._stop.is_set():
            self._current = current
            now = time.monotonic()
            if current is not None and now - sent_at >= self.retransmit_s:
                if current.attempts > self.max_retries:
                    self._give_up(current, "no ACK")
                    if current is hello:
                        raise OSError(f"no HELLO_REPLY from the controller after {current.attempts} tries")
                    current = None
                else:
                    if current.attempts:
                        self.stats.retransmits += 1
                    ser.write(Frame(current.frame_type, current_seq, current.payload).wire())
                    current.attempts += 1
                    self.stats.sent += 1
                    sent_at = now
            if self.up.is_set() and now - last_heartbeat >= self.heartbeat_s:
                ser.write(Frame(FrameType.HEARTBEAT, 0).wire())
                last_heartbeat = now
            if self.up.is_set() and now - last_heard > self.peer_timeout_s:
                raise OSError(f"controller silent for {self.peer_timeout_s:.0f}s")
            if current is None and self.up.is_set():
                try:
                    current = self._outbox.get_nowait()
                except queue.Empty:
                    pass
                else:
                    if current.expires_at is not None and now > current.expires_at:
                        self._give_up(current, "expired")
                        current = None
                    else:
                        current_seq, sent_at = self._next_seq(), 0.0
                        current.seq = current_seq
                        self._current = current
                        continue  # send it now, before waiting on the port
            for frame in self.decoder.feed(ser.read(256)):
                last_heard = time.monotonic()
                if frame.type == FrameType.ACK:
                    if current is not None and frame.payload[:1] == bytes([current_seq]):
                        current.acked = True
                        current.done.set()
                        current = None
                    continue
                if frame.type == FrameType.NAK:
                    sent_at = 0.0  # retransmit at once
                    continue
                if frame.type == FrameType.HEARTBEAT:
                    self.stats.heartbeats += 1
                    self._on_heartbeat(frame.payload)
                    continue
                if frame.type in RELIABLE:
                    ser.write(Frame(FrameType.ACK, 0, bytes([frame.seq])).wire())
                    if frame.seq == self._peer_seq:
                        self.stats.duplicates += 1
                        continue
                    self._peer_seq = frame.seq
                    self.stats.received += 1
                    if frame.type == FrameType.HELLO_REPLY:
                        self._on_hello_reply(frame)
                        continue
                    self._hand_on(self.on_frame, frame, f"frame type 0x{frame.type:02x}")

    def _hand_on(self, handler: Callable[[Any], None] | None, arg: object, what: str) -> None:
        """Call a consumer's handler on this thread: a bug in it is logged and must not kill the link."""
        if handler is None:
            return
        try:
            handler(arg)
        except Exception:
            log.exception("link %s: handler failed for %s", self.name, what)

    def _on_heartbeat(self, payload: bytes) -> None:
        self._hand_on(self.on_heartbeat, payload, "a heartbeat")
        if self.up.is_set() and len(payload) >= 6 and payload[5] & HB_NO_HOST:
            raise OSError("the controller restarted (no HELLO since its reset): handshaking again")

    def _on_hello_reply(self, frame: Frame) -> None:
        p = frame.payload
        if len(p) < 6 or p[0] != PROTOCOL_VERSION:
            self._fail(f"controller speaks protocol {p[:1].hex() or '?'}, this gateway {PROTOCOL_VERSION}")
            return
        self.peer_version = (p[1], p[2], p[3])
        self.capabilities = int.from_bytes(p[4:6], "big")
        self.state = "up"
        self.last_error = None
        self.up.set()
        self._hand_on(self.on_link, True, "link up")
        log.info("link %s up: firmware %d.%d.%d, capabilities 0x%04x", self.name, *self.peer_version, self.capabilities)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % 256
        return self._seq

    def _give_up(self, pending: Pending, why: str) -> None:
        pending.error = why
        pending.done.set()
        self.stats.given_up += 1
        log.warning("link %s: frame 0x%02x given up: %s", self.name, pending.frame_type, why)

    def _fail(self, msg: str) -> None:
        if msg != self.last_error:
            log.warning("link %s: %s (retrying)", self.name, msg)
        self.last_error = msg
        self.state = "error"
