"""What the gateway needs from the network: publish, learn of acknowledgements and receipts, know if it is connected."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class AckStatus(enum.Enum):
    DELIVERED = "delivered"
    """The broker accepted the message and had somewhere to send it."""
    NO_SUBSCRIBERS = "no_subscribers"
    """Accepted, but no subscriber matched (MQTT 5 reason 0x10): with shared subscriptions nobody keeps it."""
    REFUSED = "refused"
    """The broker refused it (not authorised, quota, payload format ...)."""


@dataclass(frozen=True)
class Ack:
    token: int
    status: AckStatus
    reason: str = ""


AckCallback = Callable[[Ack], None]
ConnectionCallback = Callable[[bool], None]
MessageCallback = Callable[[str, bytes], None]


class Transport(Protocol):
    """A publisher. Callbacks may run on the transport's own thread: they must not block."""

    on_ack: AckCallback | None
    on_connection: ConnectionCallback | None
    on_message: MessageCallback | None

    def subscribe(self, topic: str) -> None:
        """Receive messages on `topic` (QoS 1) through on_message, now and after every reconnect."""
        ...

    def resubscribe(self, topic: str) -> None:
        """Subscribe to `topic` (already subscribed) again now, so the broker sends its retained messages again."""
        ...

    @property
    def connected(self) -> bool: ...

    def start(self) -> None: ...

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        """Send a message; returns a token that a later Ack carries (QoS >= 1)."""
        ...

    def stop(self, final: tuple[str, bytes] | None = None, timeout: float = 2.0) -> None:
        """Publish `final` (topic, payload; retained) if connected, then disconnect."""
        ...
