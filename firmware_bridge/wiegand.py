"""Wiegand 26/34 frames as a reader sends them (the firmware's decoder is firmware/src/wiegand_decode.c).

26 bits: even parity over the first 12 data bits | 24 data bits | odd parity over the last 12
34 bits: even parity over the first 16 data bits | 32 data bits | odd parity over the last 16
"""

from __future__ import annotations


def encode(data: bytes) -> str:
    """The frame for 3 data bytes (26 bits) or 4 (34 bits), as a string of '0'/'1' in the order sent."""
    if len(data) not in (3, 4):
        raise ValueError("Wiegand 26 carries 3 data bytes, Wiegand 34 carries 4")
    bits = "".join(f"{b:08b}" for b in data)
    half = len(bits) // 2
    even = bits[:half].count("1") % 2
    odd = 1 - bits[half:].count("1") % 2
    return f"{even}{bits}{odd}"
