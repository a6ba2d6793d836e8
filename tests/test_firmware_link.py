"""The firmware's side of the link, byte by byte over the simulated UART (no host library in between): HELLO and
its reply, a repeated command seq ACKed again but run once, a damaged frame NAKed, garbage survived, an
unknown frame type NAKed, and the firmware retransmitting an event whose ACK does not come."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import serial

from firmware_bridge.link.frames import PROTOCOL_VERSION, Frame, FrameDecoder, FrameType
from firmware_bridge.simulators.avr_sim import AvrGateSim
from firmware_bridge.wiegand import encode


class RawPort:
    def __init__(self, url: str) -> None:
        self.port = serial.serial_for_url(url, baudrate=115200, timeout=0.05)
        self.decoder = FrameDecoder()
        self.frames: list[Frame] = []

    def send(self, data: bytes) -> None:
        self.port.write(data)

    def expect(self, frame_type: int, timeout: float = 2.0, skip_heartbeats: bool = True) -> Frame:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for f in self.decoder.feed(self.port.read(256)):
                self.frames.append(f)
            for i, f in enumerate(self.frames):
                if f.type == frame_type:
                    del self.frames[: i + 1]
                    return f
        raise AssertionError(f"no frame 0x{frame_type:02x} within {timeout}s; have {self.frames}")

    def hello(self) -> Frame:
        # As the host does: a HELLO whose ACK does not come is sent again (bytes sent during boot are lost).
        for _ in range(10):
            self.send(Frame(FrameType.HELLO, 1, bytes([PROTOCOL_VERSION, 0])).wire())
            try:
                assert self.expect(FrameType.ACK, timeout=0.3).payload == bytes([1])
                break
            except AssertionError:
                continue
        else:
            raise AssertionError(f"HELLO never ACKed; have {self.frames}")
        reply = self.expect(FrameType.HELLO_REPLY)
        self.send(Frame(FrameType.ACK, 0, bytes([reply.seq])).wire())
        return reply


@pytest.fixture
def raw(avr_sim: AvrGateSim) -> Iterator[RawPort]:
    p = RawPort(avr_sim.port)
    yield p
    p.port.close()


def test_hello_then_a_repeated_command_is_acked_twice_and_run_once(avr_sim: AvrGateSim, raw: RawPort) -> None:
    reply = raw.hello()
    assert reply.payload[:4] == bytes([PROTOCOL_VERSION, 1, 0, 0])
    pulse = Frame(FrameType.CMD_RELAY, 7, bytes([1, 0, 0, 100])).wire()
    raw.send(pulse)
    assert raw.expect(FrameType.ACK).payload == bytes([7])
    result = raw.expect(FrameType.RESULT)
    assert result.payload == bytes([7, 0])
    raw.send(Frame(FrameType.ACK, 0, bytes([result.seq])).wire())
    raw.send(pulse)  # our ACK "was lost": the same seq again
    assert raw.expect(FrameType.ACK).payload == bytes([7])
    on = avr_sim.wait_pin("B0", 1, 2)
    avr_sim.wait_pin("B0", 0, 2, after_us=on.sim_us)
    with pytest.raises(AssertionError):
        raw.expect(FrameType.RESULT, timeout=0.5)  # not executed a second time
    assert len([c for c in avr_sim.changes("B0") if c.level == 1]) == 1


def test_damaged_frames_garbage_and_unknown_types(avr_sim: AvrGateSim, raw: RawPort) -> None:
    raw.hello()
    wire = bytearray(Frame(FrameType.CMD_LED, 9, bytes([2, 0, 0])).wire())
    wire[3] ^= 0x40  # a flipped bit: CRC fails
    raw.send(bytes(wire))
    nak = raw.expect(FrameType.NAK)
    assert nak.payload == bytes([0xFF, 1])
    raw.send(b"\x13\x37garbage without a delimiter" * 5 + b"\x00\x00")
    assert raw.expect(FrameType.NAK).payload == bytes([0xFF, 1])  # the garbage, up to its 0x00, is one bad frame
    raw.send(Frame(0x7E, 10, b"").wire())
    assert raw.expect(FrameType.NAK).payload == bytes([10, 3])  # unknown type
    raw.send(Frame(FrameType.CMD_LED, 11, bytes([2, 0, 0])).wire())  # still in sync
    assert raw.expect(FrameType.ACK).payload == bytes([11])
    avr_sim.wait_pin("B4", 1, 2)  # green


def test_firmware_retransmits_an_event_until_it_is_acked(avr_sim: AvrGateSim, raw: RawPort) -> None:
    raw.hello()
    avr_sim.wiegand("A", encode(bytes([0, 0, 5])))
    first = raw.expect(FrameType.EVENT_CARD)
    again = raw.expect(FrameType.EVENT_CARD, timeout=1)  # no ACK from us: sent again after 100 ms
    assert (again.seq, again.payload) == (first.seq, first.payload)
    raw.send(Frame(FrameType.ACK, 0, bytes([first.seq])).wire())
    raw.frames.clear()
    with pytest.raises(AssertionError):
        raw.expect(FrameType.EVENT_CARD, timeout=0.5)
