"""A gate controller that speaks the link protocol over TCP (pyserial `socket://`), for host-side tests.

It answers HELLO, ACKs reliable frames, executes commands into `commands`, answers each with RESULT, sends
events on demand, and injects faults on request: swallow the next ACKs (the host must retransmit), corrupt the
next outgoing frame, send an event twice with the same seq (the host must hand it on once). It is the test
adapter of the link boundary; the real peer is the firmware (firmware/).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from firmware_bridge.link.frames import PROTOCOL_VERSION, RELIABLE, Frame, FrameDecoder, FrameType
from firmware_bridge.simulators.tcp_peer import TcpPeer

FIRMWARE_VERSION = (0, 1, 0)
CAPABILITIES = 0x001F


@dataclass
class Faults:
    swallow_acks: int = 0
    corrupt_next: int = 0
    duplicate_next_event: bool = False


class ControllerSim(TcpPeer):
    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__("controller-sim", host)
        self.faults = Faults()
        self.commands: list[Frame] = []
        self.hellos = 0
        self.acks_from_host: list[int] = []
        self.command_seen = threading.Event()
        self._seq = 0
        self._decoder = FrameDecoder()

    def on_connect(self) -> None:
        self._decoder = FrameDecoder()

    def on_data(self, data: bytes) -> None:
        for frame in self._decoder.feed(data):
            self._handle(frame)

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
        self.send(wire)

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
