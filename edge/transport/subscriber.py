"""A plain (non-shared) MQTT 5 subscriber: every message is queued with the monotonic time it arrived. Subscribed
(SUBACK received) when the constructor returns. Production code (`edge command send` waits on a command's result
with it) as well as the demo, the benchmarks and the tests, so it lives with the transport, not the dev tools."""

from __future__ import annotations

import queue
import threading
import time
from typing import NamedTuple

from edge.security.pki import TlsFiles
from edge.transport.mqtt import MqttSettings, make_client


class Received(NamedTuple):
    topic: str
    payload: bytes
    at_monotonic: float


class Subscriber:
    def __init__(
        self,
        port: int,
        topic: str = "edge/v1/#",
        *,
        client_id: str = "edge-watch",
        host: str = "127.0.0.1",
        ready_timeout_s: float = 10.0,
        tls: TlsFiles | None = None,
    ) -> None:
        self.messages: queue.Queue[Received] = queue.Queue()
        self._ready = threading.Event()
        self.client = make_client(MqttSettings(host=host, port=port, client_id=client_id, tls=tls))
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            Received(m.topic, bytes(m.payload), time.monotonic())
        )
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._ready.wait(ready_timeout_s):
            self.close()
            raise TimeoutError(f"no subscription to {topic} on {host}:{port} within {ready_timeout_s:.0f}s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
