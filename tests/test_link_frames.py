"""The framed link (COBS + CRC-16): reference values, vectors shared with the firmware, fuzzing, and the
firmware's own implementation compiled for this machine and checked against the same vectors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.link.cobs import CobsError, cobs_decode, cobs_encode
from firmware_bridge.link.crc import crc16
from firmware_bridge.link.frames import MAX_PAYLOAD, Frame, FrameDecoder, FrameError
from firmware_bridge.link.vectors import VECTORS, header
from tests.helpers import fuzz_examples

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware_bridge" / "firmware"


def test_reference_values() -> None:
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255)) + b"\x01"
    with pytest.raises(CobsError):
        cobs_decode(b"\x05\x11\x22")


def test_vectors_round_trip_and_header_is_current() -> None:
    for name, frame in VECTORS:
        frames = list(FrameDecoder().feed(frame.wire()))
        assert frames == [frame], name
    current = (FIRMWARE / "test" / "vectors.h").read_text()
    assert current == header(), "run: python -m firmware_bridge.link.vectors > firmware_bridge/firmware/test/vectors.h"


def test_garbage_truncation_and_corruption_are_counted_not_raised() -> None:
    good = Frame(0x10, 3, b"\x01\x02").wire()
    d = FrameDecoder()
    stream = (
        b"\x00\x00junk\x00" + good[:4] + b"\x00" + good + bytes([good[0] ^ 0x04]) + good[1:] + b"\xaa" * 500 + b"\x00"
    )
    assert list(d.feed(stream)) == [Frame(0x10, 3, b"\x01\x02")]
    assert d.stats.frames == 1 and d.stats.too_long == 1
    assert sum(d.stats.by_reason.values()) == 4  # junk, the truncated frame, the corrupted one, the overlong run
    with pytest.raises(FrameError):
        Frame(0x10, 1, bytes(MAX_PAYLOAD + 1)).packet()


@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=MAX_PAYLOAD),
    st.binary(max_size=40),
    st.integers(1, 17),
)
@settings(max_examples=fuzz_examples(300), deadline=None)
def test_any_frame_survives_noise_and_any_chunking(
    ftype: int, seq: int, payload: bytes, noise: bytes, chunk: int
) -> None:
    frame = Frame(ftype, seq, payload)
    stream = noise + b"\x00" + frame.wire()
    d = FrameDecoder()
    got = [f for i in range(0, len(stream), chunk) for f in d.feed(stream[i : i + chunk])]
    assert got[-1:] == [frame]


@given(st.binary(max_size=2000))
@settings(max_examples=fuzz_examples(500), deadline=None)
def test_arbitrary_bytes_never_crash_the_decoder(data: bytes) -> None:
    d = FrameDecoder()
    for f in d.feed(data):
        assert 0 <= f.type <= 255 and len(f.payload) <= MAX_PAYLOAD
    assert len(d._buf) <= 80


@given(st.binary(max_size=600))
def test_cobs_round_trip(data: bytes) -> None:
    enc = cobs_encode(data)
    assert b"\x00" not in enc and cobs_decode(enc) == data


def test_firmware_link_code_passes_the_same_vectors(tmp_path: Path) -> None:
    assert shutil.which("cc") and shutil.which("make"), "scripts/bootstrap.sh --dev installs gcc and make"
    res = subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE), f"BUILD={tmp_path}", "host-test"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"link: {len(VECTORS)} vectors ok" in res.stdout
