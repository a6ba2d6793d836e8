"""In-memory transport for unit tests: records what was published and acknowledges on demand."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from edge.transport.base import Ack, AckCallback, AckStatus, ConnectionCallback, MessageCallback


@dataclass
class Sent:
    token: int
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass
class MemoryTransport:
    auto_ack: AckStatus | None = AckStatus.DELIVERED
    """Acknowledge each publish at once with this status; None to acknowledge by hand with ack()."""
    on_ack: AckCallback | None = None
    on_connection: ConnectionCallback | None = None
    on_message: MessageCallback | None = None
    subscriptions: list[str] = field(default_factory=list)
    resubscribed: list[str] = field(default_factory=list)
    """Topics resubscribe() was called with (the broker would send their retained messages again)."""
    sent: list[Sent] = field(default_factory=list)
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _connected: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        self.set_connected(True)

    def set_connected(self, up: bool) -> None:
        self._connected = up
        if self.on_connection:
            self.on_connection(up)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        if not self._connected:
            raise ConnectionError("not connected")
        with self._lock:
            token = next(self._tokens)
            self.sent.append(Sent(token, topic, payload, qos, retain))
        if self.auto_ack is not None and qos > 0:
            self.ack(token, self.auto_ack)
        return token

    def subscribe(self, topic: str) -> None:
        self.subscriptions.append(topic)

    def resubscribe(self, topic: str) -> None:
        self.resubscribed.append(topic)

    def deliver(self, topic: str, payload: bytes) -> None:
        """Play a message from the broker (a receipt) to the subscriber."""
        if self.on_message and topic in self.subscriptions:
            self.on_message(topic, payload)

    def ack(self, token: int, status: AckStatus = AckStatus.DELIVERED) -> None:
        if self.on_ack:
            self.on_ack(Ack(token, status))

    def stop(self, final: tuple[str, bytes] | None = None, timeout: float = 2.0) -> None:
        if final is not None and self._connected:
            self.publish(final[0], final[1], qos=1, retain=True)
        self._connected = False
