"""PN532 NFC controller over HSU (its UART), frame level — NXP PN532 User Manual (UM0701-02) §6.2.

Normal information frame:

    00 (preamble) | 00 FF (start code) | LEN | LCS | TFI | PD0 .. PDn | DCS | 00 (postamble)
    LEN = bytes of TFI + data; LEN + LCS = 0 (mod 256); TFI = D4 host -> PN532, D5 PN532 -> host;
    TFI + PD0 + ... + PDn + DCS = 0 (mod 256).

ACK is 00 00 FF 00 FF 00, NACK 00 00 FF FF 00 00. Extended frames (LEN = FF FF) are not used by the commands
here and are counted as unsupported. The stream decoder resynchronises on the next 00 FF start code after
garbage, a bad checksum or a truncated frame, and never raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

HOST_TO_PN532 = 0xD4
PN532_TO_HOST = 0xD5
ACK = b"\x00\x00\xff\x00\xff\x00"
NACK = b"\x00\x00\xff\xff\x00\x00"
WAKEUP = b"\x55\x55" + b"\x00" * 14
"""HSU wake-up: the PN532 leaves power-down on a long 0x55 preamble (UM0701-02 §7.2.11)."""

GET_FIRMWARE_VERSION = 0x02
SAM_CONFIGURATION = 0x14
IN_LIST_PASSIVE_TARGET = 0x4A


def build_frame(data: bytes, tfi: int = HOST_TO_PN532) -> bytes:
    """A normal information frame carrying `data` (PD0 = the command code)."""
    body = bytes([tfi]) + data
    if len(body) > 255:
        raise ValueError("normal frames carry at most 254 data bytes")
    length = len(body)
    dcs = (-sum(body)) & 0xFF
    return b"\x00\x00\xff" + bytes([length, (-length) & 0xFF]) + body + bytes([dcs, 0x00])


def sam_configuration() -> bytes:
    """SAMConfiguration: normal mode, no timeout, IRQ used — needed once after power-up."""
    return build_frame(bytes([SAM_CONFIGURATION, 0x01, 0x00, 0x01]))


def in_list_passive_target() -> bytes:
    """InListPassiveTarget: one target, 106 kbps type A (ISO/IEC 14443 A: MIFARE, NTAG, DESFire)."""
    return build_frame(bytes([IN_LIST_PASSIVE_TARGET, 0x01, 0x00]))


def parse_target_uid(data: bytes) -> str | None:
    """The first target's NFCID1 (UID) as upper-case hex from an InListPassiveTarget response
    (D5 4B NbTg Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1...), or None when no card was in the field."""
    if len(data) < 2 or data[0] != PN532_TO_HOST or data[1] != IN_LIST_PASSIVE_TARGET + 1:
        return None
    if len(data) < 3 or data[2] == 0:
        return None
    if len(data) < 8:
        return None
    n = data[7]
    uid = data[8 : 8 + n]
    if n not in (4, 7, 10) or len(uid) != n:
        return None
    return uid.hex().upper()


@dataclass
class Pn532Stats:
    frames: int = 0
    acks: int = 0
    nacks: int = 0
    bad_checksum: int = 0
    malformed: int = 0
    """Extended frames (not used by these commands) and runs too long to be a frame."""
    by_reason: dict[str, int] = field(default_factory=dict)


class Pn532Decoder:
    """Byte stream -> ("ack", b"") | ("nack", b"") | ("frame", TFI + data). Bounded buffer."""

    MAX_BUFFER = 600

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = Pn532Stats()

    def feed(self, data: bytes) -> Iterator[tuple[str, bytes]]:
        self._buf += data
        while True:
            start = self._buf.find(b"\x00\xff")
            if start < 0:
                del self._buf[: max(0, len(self._buf) - 1)]  # keep a trailing 00 that may start a code
                return
            del self._buf[:start]
            if len(self._buf) < 4:
                return
            length, lcs = self._buf[2], self._buf[3]
            if length == 0x00 and lcs == 0xFF:
                self.stats.acks += 1
                del self._buf[:4]
                yield "ack", b""
                continue
            if length == 0xFF and lcs == 0x00:
                self.stats.nacks += 1
                del self._buf[:4]
                yield "nack", b""
                continue
            if length == 0xFF and lcs == 0xFF:
                self._drop("malformed", 2)  # extended frame
                continue
            if (length + lcs) & 0xFF:
                self._drop("bad_checksum", 2)
                continue
            if len(self._buf) < 4 + length + 1:
                if len(self._buf) > self.MAX_BUFFER:
                    self._drop("bad_checksum", 2)
                    continue
                return
            body = bytes(self._buf[4 : 4 + length])
            dcs = self._buf[4 + length]
            if (sum(body) + dcs) & 0xFF:
                self._drop("bad_checksum", 2)
                continue
            del self._buf[: 4 + length + 1]
            self.stats.frames += 1
            yield "frame", body

    def _drop(self, reason: str, n: int) -> None:
        setattr(self.stats, reason, getattr(self.stats, reason) + 1)
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
        del self._buf[:n]
