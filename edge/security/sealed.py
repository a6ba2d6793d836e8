"""Sealing bytes at rest: AES-256-GCM with a clear, authenticated header (the AAD), and the 32-byte keys it uses.

Envelope (all integers big-endian):
    magic    8 bytes  b"EDGESEAL"
    version  1 byte   1
    aad_len  4 bytes  length of the AAD that follows
    aad      aad_len  caller's clear header (e.g. JSON naming the format and model): readable without the key,
                      but any change to it fails authentication
    nonce   12 bytes  random per seal
    ct       rest     AES-256-GCM ciphertext + 16-byte tag; the associated data is everything before the nonce
A wrong key, a flipped bit anywhere, a truncated file: all are SealedError, never a partial plaintext.
Keys are 64 hex characters in a file created 0600 in a 0700 folder (edge.security.private_files); a key file
others can read is refused. A systemd credential (`$CREDENTIALS_DIRECTORY/<name>`) is read the same way.
"""

from __future__ import annotations

import os
import secrets
import stat
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edge.security.private_files import write_private

MAGIC = b"EDGESEAL"
VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
_HEAD = struct.Struct(">8sBI")


class SealedError(Exception):
    """The envelope is not ours, is damaged or tampered with, or the key is wrong."""


class KeyFileError(Exception):
    """A key file is missing, malformed or readable by others."""


def seal(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    _check_key(key)
    head = _HEAD.pack(MAGIC, VERSION, len(aad)) + aad
    nonce = os.urandom(NONCE_BYTES)
    return head + nonce + AESGCM(key).encrypt(nonce, plaintext, head)


def _split(blob: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    if len(blob) < _HEAD.size or blob[:8] != MAGIC:
        raise SealedError("not a sealed file (no EDGESEAL header)")
    _, version, aad_len = _HEAD.unpack_from(blob)
    if version != VERSION:
        raise SealedError(f"sealed with envelope version {version}, this version reads {VERSION}")
    end = _HEAD.size + aad_len
    if len(blob) < end + NONCE_BYTES + 16:
        raise SealedError("truncated")
    return blob[:end], blob[_HEAD.size : end], blob[end : end + NONCE_BYTES], blob[end + NONCE_BYTES :]


def is_sealed(blob: bytes) -> bool:
    return blob[:8] == MAGIC


def peek_aad(blob: bytes) -> bytes:
    """The clear header, NOT authenticated (for messages before the key is at hand); open_sealed checks it."""
    return _split(blob)[1]


def open_sealed(key: bytes, blob: bytes) -> tuple[bytes, bytes]:
    """(aad, plaintext); SealedError on anything but an intact envelope sealed with this key."""
    _check_key(key)
    head, aad, nonce, ct = _split(blob)
    try:
        return aad, AESGCM(key).decrypt(nonce, ct, head)
    except InvalidTag:
        raise SealedError("authentication failed: wrong key, or the file was altered or damaged") from None


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a sealing key is {KEY_BYTES} bytes, got {len(key)}")


# keys -------------------------------------------------------------------------------------------------
def new_key_file(path: str | Path) -> Path:
    """Create a fresh random key (0600, folder 0700); refuses to overwrite an existing key (its data would be lost)."""
    p = Path(path)
    if p.exists():
        raise KeyFileError(f"key file {p} already exists: it may still seal data; remove it yourself if it is not")
    return write_private(p, secrets.token_hex(KEY_BYTES).encode() + b"\n")


def read_key_file(path: str | Path, *, check_mode: bool = True) -> bytes:
    p = Path(path)
    try:
        st = p.stat()
        text = p.read_bytes().strip()
    except FileNotFoundError:
        raise KeyFileError(f"key file {p} not found (make one with 'edge gallery keygen --key-file {p}')") from None
    except OSError as exc:
        raise KeyFileError(f"key file {p} is unreadable: {exc.strerror or exc}") from None
    if check_mode and stat.S_IMODE(st.st_mode) & 0o077:
        mode = oct(stat.S_IMODE(st.st_mode))
        raise KeyFileError(f"key file {p} is readable by others (mode {mode}): chmod 600 it")
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"key file {p} does not hold a key ({KEY_BYTES * 2} hex characters)")
    return key


def credential_path(name: str) -> Path:
    """A systemd credential (LoadCredential=/SetCredentialEncrypted=) of this service."""
    base = os.environ.get("CREDENTIALS_DIRECTORY")
    if not base:
        raise KeyFileError(f"credential {name!r} named but $CREDENTIALS_DIRECTORY is not set (not run by systemd?)")
    return Path(base) / name
