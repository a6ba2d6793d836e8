"""Buffered reads under paho: one recv() system call for many MQTT packets instead of three or four per packet.

Why: paho reads a packet's first byte, then its length byte by byte, then its body, each with its own recv() on
the socket (paho 2.2, Client._packet_read). At 10,000 check-ins/s that is 30-40,000 system calls a second for
reading alone. Wrapped in `BufferedReads`, the socket is read 64 KiB at a time and paho's small reads are served
from memory; `pending()` tells paho's loop that bytes are waiting (the hook paho already has for TLS sockets,
whose decrypted records wait inside OpenSSL the same way), so it does not sleep in select() on them.

And paho's loop reads one packet per select() call when it has no messages of its own in flight (its
loop_read reads as many packets as it has messages in flight: for the collector, whose receipts are not paho's
messages any more, one), so `install` also gives it a loop_read that reads up to PACKETS_PER_WAKE packets a turn.

Everything but recv() and pending() goes straight to the socket; a TLS socket's own pending() is added to ours.
`install` swaps paho's private `_sock` from the on_connect callback (paho's network thread, between two packets,
with nothing read ahead yet) — after every (re)connect, as paho makes a new socket each time."""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_BYTES = 65_536


class BufferedReads:
    __slots__ = ("_buf", "_pos", "sock")

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        """Up to `n` bytes: from what was read ahead, else from one large read (whose BlockingIOError, TLS
        want-read and end of stream reach paho exactly as the socket's own would)."""
        if self._pos >= len(self._buf):
            data: bytes = self.sock.recv(READ_BYTES)
            if len(data) <= n:
                return data
            self._buf, self._pos = data, 0
        start, self._pos = self._pos, min(self._pos + n, len(self._buf))
        return self._buf[start : self._pos]

    def pending(self) -> int:
        inner = getattr(self.sock, "pending", None)
        return len(self._buf) - self._pos + (int(inner()) if inner is not None else 0)

    def send(self, data: bytes) -> int:
        return int(self.sock.send(data))

    def fileno(self) -> int:
        return int(self.sock.fileno())

    def close(self) -> None:
        self.sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


PACKETS_PER_WAKE = 256
"""Packets paho's loop reads per turn before it looks at writes again (its own loop_read reads as many as it has
messages in flight, which for the collector is about none: one packet per select() call)."""


def supported(client: mqtt.Client) -> bool:
    from edge.central.collector.wire import paho_verified

    names = ("_sock", "_packet_read", "_loop_rc_handle", "loop_read")
    return paho_verified() and all(hasattr(client, a) for a in names)


def install(client: mqtt.Client) -> bool:
    """Wrap the client's current socket (once) and let its loop read up to PACKETS_PER_WAKE packets a turn.
    False when there is no socket or paho's internals are not as known."""
    sock = getattr(client, "_sock", None)
    if sock is None or not supported(client):
        return False
    if not isinstance(sock, BufferedReads):
        setattr(client, "_sock", BufferedReads(sock))  # noqa: B010 (a private attribute mypy types otherwise)
    if not getattr(client.loop_read, "buffered", False):
        setattr(client, "loop_read", _loop_read(client))  # noqa: B010
    return True


def _loop_read(client: mqtt.Client) -> Any:
    """paho 2.2's loop_read with a fixed number of packets per turn (its body otherwise: stop at the first
    would-block, hand errors to its own handler)."""

    def loop_read(max_packets: int = 1) -> MQTTErrorCode:
        for _ in range(PACKETS_PER_WAKE):
            if client._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = client._packet_read()
            if rc > 0:
                return client._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    loop_read.buffered = True  # type: ignore[attr-defined]
    return loop_read
