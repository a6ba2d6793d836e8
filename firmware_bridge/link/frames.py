"""Link frames: type, sequence number, payload, CRC-16 — COBS-encoded and 0x00-delimited on the wire.

    decoded packet:  type (1) | seq (1) | len (1) | payload (len, <= 58) | crc16 big-endian (2)
    on the wire:     cobs(packet) 0x00

The stream decoder takes bytes as they come (any split, any garbage), yields every valid packet and counts
the rest by reason; it never raises on input.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from firmware_bridge.link.cobs import CobsError, cobs_decode, cobs_encode
from firmware_bridge.link.crc import crc16

PROTOCOL_VERSION = 1
MAX_PAYLOAD = 58
MAX_PACKET = 3 + MAX_PAYLOAD + 2
MAX_WIRE = MAX_PACKET + MAX_PACKET // 254 + 2  # COBS overhead + delimiter


HB_NO_HOST = 0x20
"""HEARTBEAT flags bit (payload byte 5): the controller has not had a HELLO since it reset."""


class FrameType(enum.IntEnum):
    HELLO = 0x01
    HELLO_REPLY = 0x02
    HEARTBEAT = 0x03
    ACK = 0x04
    NAK = 0x05
    EVENT_CARD = 0x10
    EVENT_INPUT = 0x11
    EVENT_ALARM = 0x12
    CMD_RELAY = 0x20
    CMD_BUZZER = 0x21
    CMD_LED = 0x22
    CMD_LOCKDOWN = 0x23
    CMD_CONFIG = 0x24
    RESULT = 0x30


RELIABLE = frozenset(
    {
        FrameType.HELLO,
        FrameType.HELLO_REPLY,
        FrameType.EVENT_CARD,
        FrameType.EVENT_INPUT,
        FrameType.EVENT_ALARM,
        FrameType.CMD_RELAY,
        FrameType.CMD_BUZZER,
        FrameType.CMD_LED,
        FrameType.CMD_LOCKDOWN,
        FrameType.CMD_CONFIG,
        FrameType.RESULT,
    }
)
"""Acknowledged (ACK with the frame's seq) and retransmitted until they are; HEARTBEAT, ACK and NAK are not."""


class FrameError(ValueError):
    pass


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""

    def packet(self) -> bytes:
        if not 0 <= self.type <= 255 or not 0 <= self.seq <= 255:
            raise FrameError("type and seq are single bytes")
        if len(self.payload) > MAX_PAYLOAD:
            raise FrameError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD}")
        body = bytes([self.type, self.seq, len(self.payload)]) + self.payload
        return body + crc16(body).to_bytes(2, "big")

    def wire(self) -> bytes:
        return cobs_encode(self.packet()) + b"\x00"


def parse_packet(packet: bytes) -> Frame:
    if len(packet) < 5:
        raise FrameError("truncated")
    if len(packet) > MAX_PACKET:
        raise FrameError("too long")
    body, crc = packet[:-2], int.from_bytes(packet[-2:], "big")
    if crc16(body) != crc:
        raise FrameError("bad crc")
    if body[2] != len(body) - 3:
        raise FrameError("length mismatch")
    return Frame(body[0], body[1], bytes(body[3:]))


@dataclass
class DecoderStats:
    frames: int = 0
    bad_crc: int = 0
    bad_cobs: int = 0
    truncated: int = 0
    too_long: int = 0
    length_mismatch: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class FrameDecoder:
    """Byte stream -> frames. Bounded memory: a run of bytes longer than a frame can be is dropped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._overflow = False
        self.stats = DecoderStats()

    def feed(self, data: bytes) -> Iterator[Frame]:
        for byte in data:
            if byte != 0:
                if len(self._buf) < MAX_WIRE:
                    self._buf.append(byte)
                else:
                    self._overflow = True
                continue
            chunk, overflow = bytes(self._buf), self._overflow
            self._buf.clear()
            self._overflow = False
            if not chunk:
                continue  # back-to-back delimiters: idle line
            if overflow:
                self._count("too_long")
                continue
            try:
                frame = parse_packet(cobs_decode(chunk))
            except CobsError:
                self._count("bad_cobs")
                continue
            except FrameError as exc:
                self._count(str(exc).replace(" ", "_"))
                continue
            self.stats.frames += 1
            yield frame

    def _count(self, reason: str) -> None:
        if hasattr(self.stats, reason):
            setattr(self.stats, reason, getattr(self.stats, reason) + 1)
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
