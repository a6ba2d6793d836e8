"""Consistent Overhead Byte Stuffing: a packet without 0x00 bytes, so 0x00 can delimit frames on the wire.

Overhead: one byte per 254 bytes of payload, plus one. Decoding a corrupt block raises CobsError; the stream
decoder then drops bytes up to the next 0x00 delimiter and resynchronises there.
"""

from __future__ import annotations


class CobsError(ValueError):
    """Not a valid COBS block."""


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError("zero byte inside a COBS block")
        end = i + code
        if end > n:
            raise CobsError("COBS block runs past the end of the frame")
        block = data[i + 1 : end]
        if 0 in block:
            raise CobsError("zero byte inside a COBS block")
        out += block
        i = end
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)
