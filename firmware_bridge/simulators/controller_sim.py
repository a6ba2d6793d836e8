"""A gate controller that speaks the link protocol over TCP (pyserial `socket://`), for host-side tests.

It answers HELLO, ACKs reliable frames, executes commands into `commands`, answers each with RESULT, sends
events on demand, and injects faults on request: swallow the next ACKs (the host must retransmit), corrupt the
next outgoing frame, send an event twice with the same seq (the host must hand it on once). It is the test
adapter of the link boundary; the real peer is the firmware (firmware/).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

from firmware_bridge.link.frames import PROTOCOL_VERSION, RELIABLE, Frame, FrameDecoder, FrameType

FIRMWARE_VERSION = (0, 1, 0)
CAPABILITIES = 0x001F


@dataclass
class Faults:
    swallow_acks: int = 0
    corrupt_next: int = 0
    duplicate_next_event: bool = False


@dataclass
class ControllerSim:
    host: str = "127.0.0.1"
    faults: Faults = field(default_factory=Faults)
    commands: list[Frame] = field(default_factory=list)
    hellos: int = 0
    acks_from_host: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = socket.create_server((self.host, 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._conn: socket.socket | None = None
        self._lock = threading.Lock()
        self._seq = 0
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.command_seen = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="controller-sim", daemon=True)

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    def __enter__(self) -> ControllerSim:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.unplug()
        self._thread.join(2)
        self._server.close()

    def unplug(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self.connected.clear()

    def send_event(self, frame_type: int, payload: bytes) -> None:
        frame = Frame(frame_type, self._next_seq(), payload)
        self._send(frame)
        if self.faults.duplicate_next_event:
            self.faults.duplicate_next_event = False
            self._send(frame)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % 256
        return self._seq

    def _send(self, frame: Frame) -> None:
        wire = frame.wire()
        if self.faults.corrupt_next:
            self.faults.corrupt_next -= 1
            wire = bytes([wire[0], wire[1] ^ 0x01 or 0x01]) + wire[2:]
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.sendall(wire)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.1)
            with self._lock:
                self._conn = conn
            self.connected.set()
            decoder = FrameDecoder()
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                for frame in decoder.feed(data):
                    self._handle(frame)
            self.unplug()

    def _handle(self, frame: Frame) -> None:
        if frame.type == FrameType.ACK:
            self.acks_from_host.append(frame.payload[0])
            return
        if frame.type not in RELIABLE:
            return
        if self.faults.swallow_acks:
            self.faults.swallow_acks -= 1
            return  # as if our ACK was lost on the wire
        self._send(Frame(FrameType.ACK, 0, bytes([frame.seq])))
        if frame.type == FrameType.HELLO:
            self.hellos += 1
            self._seq = 0
            major, minor, patch = FIRMWARE_VERSION
            payload = bytes([PROTOCOL_VERSION, major, minor, patch]) + CAPABILITIES.to_bytes(2, "big")
            self._send(Frame(FrameType.HELLO_REPLY, self._next_seq(), payload))
            return
        if any(c.seq == frame.seq and c.type == frame.type for c in self.commands[-1:]):
            return  # a retransmission of the command we already executed
        self.commands.append(frame)
        self.command_seen.set()
        self._send(Frame(FrameType.RESULT, self._next_seq(), bytes([frame.seq, 0])))
