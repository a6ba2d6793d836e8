"""RDM6300 (125 kHz EM4100) reader protocol.

Datasheet frame, 14 bytes at 9600 8N1:

    0x02 | 10 ASCII hex data | 2 ASCII hex checksum | 0x03
    data = 2 hex version/customer id + 8 hex card number; checksum = XOR of the 5 data bytes.

The reader repeats the frame while a card stays in the field. The decoder is a byte-at-a-time state machine:
garbage between frames is skipped, a frame with a bad checksum or a non-hex character is dropped and counted,
and it resynchronises on the next STX (including an STX inside a broken frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field

STX = 0x02
ETX = 0x03
FRAME_LEN = 14
_HEX = frozenset(b"0123456789ABCDEFabcdef")


def checksum(uid: str) -> int:
    data = bytes.fromhex(uid)
    x = 0
    for b in data:
        x ^= b
    return x


def encode_frame(uid: str) -> bytes:
    """The 14-byte frame a reader sends for card `uid` (10 hex digits)."""
    uid = uid.upper()
    if len(uid) != 10 or any(c not in "0123456789ABCDEF" for c in uid):
        raise ValueError(f"RDM6300 card id must be 10 hex digits, got {uid!r}")
    return bytes([STX]) + uid.encode() + f"{checksum(uid):02X}".encode() + bytes([ETX])


@dataclass
class DecoderStats:
    frames: int = 0
    bad_checksum: int = 0
    malformed: int = 0
    garbage_bytes: int = 0


@dataclass
class Rdm6300Decoder:
    """Feed bytes in any chunking; get back the card ids of complete, valid frames."""

    stats: DecoderStats = field(default_factory=DecoderStats)
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[str]:
        cards: list[str] = []
        for b in data:
            if not self._buf:
                if b == STX:
                    self._buf.append(b)
                else:
                    self.stats.garbage_bytes += 1
                continue
            if b == STX:  # a new frame starts inside an unfinished one: drop the old one
                self.stats.malformed += 1
                self._buf = bytearray([STX])
                continue
            self._buf.append(b)
            if len(self._buf) < FRAME_LEN:
                if b == ETX or b not in _HEX:
                    self.stats.malformed += 1
                    self._buf.clear()
                continue
            frame, self._buf = bytes(self._buf), bytearray()
            card = self._check(frame)
            if card is not None:
                cards.append(card)
        return cards

    def _check(self, frame: bytes) -> str | None:
        if frame[-1] != ETX:
            self.stats.malformed += 1
            return None
        body = frame[1:13].decode("ascii").upper()
        uid, got = body[:10], int(body[10:], 16)
        if checksum(uid) != got:
            self.stats.bad_checksum += 1
            return None
        self.stats.frames += 1
        return uid
