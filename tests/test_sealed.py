"""edge.security.sealed: AES-256-GCM envelopes: round trip, and any flipped bit, truncation or wrong key fails."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.security.sealed import (
    KEY_BYTES,
    KeyFileError,
    SealedError,
    is_sealed,
    new_key_file,
    open_sealed,
    peek_aad,
    read_key_file,
    seal,
)
from tests.helpers import fuzz_examples

KEY = bytes(range(KEY_BYTES))


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(plain=st.binary(max_size=2048), aad=st.binary(max_size=256))
def test_round_trip_keeps_plaintext_and_aad(plain: bytes, aad: bytes) -> None:
    blob = seal(KEY, plain, aad)
    assert is_sealed(blob) and peek_aad(blob) == aad
    assert open_sealed(KEY, blob) == (aad, plain)
    assert seal(KEY, plain, aad) != blob  # a fresh nonce every time


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(plain=st.binary(max_size=512), aad=st.binary(max_size=64), data=st.data())
def test_any_flipped_bit_fails(plain: bytes, aad: bytes, data: st.DataObject) -> None:
    blob = bytearray(seal(KEY, plain, aad))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SealedError):
        open_sealed(KEY, bytes(blob))


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(plain=st.binary(max_size=512), cut=st.integers(1, 600))
def test_truncated_or_wrong_key_fails(plain: bytes, cut: int) -> None:
    blob = seal(KEY, plain, b"hdr")
    with pytest.raises(SealedError):
        open_sealed(KEY, blob[: max(0, len(blob) - cut)])
    with pytest.raises(SealedError, match="wrong key"):
        open_sealed(bytes(KEY_BYTES), blob)


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(junk=st.binary(max_size=4096))
def test_arbitrary_bytes_are_refused_cleanly(junk: bytes) -> None:
    with pytest.raises(SealedError):
        open_sealed(KEY, junk)


def test_huge_aad_length_in_a_short_file_is_refused() -> None:
    blob = seal(KEY, b"x", b"a")
    forged = blob[:9] + (2**32 - 1).to_bytes(4, "big") + blob[13:]
    with pytest.raises(SealedError, match="truncated"):
        open_sealed(KEY, forged)


def test_a_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal(b"short", b"x")


def test_key_files(tmp_path: Path) -> None:
    path = new_key_file(tmp_path / "k" / "a.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = read_key_file(path)
    assert len(key) == KEY_BYTES and read_key_file(new_key_file(tmp_path / "k" / "b.key")) != key
    with pytest.raises(KeyFileError, match="already exists"):
        new_key_file(path)
    os.chmod(path, 0o640)
    with pytest.raises(KeyFileError, match="readable by others"):
        read_key_file(path)
    assert read_key_file(path, check_mode=False) == key
