"""A simulated RDM6300 reader served on TCP, for pyserial's socket:// URLs.

The gateway connects to socket://127.0.0.1:PORT exactly as it would open /dev/ttyS0. `tap(uid)` sends the
frame for that card (repeated like a card held on a real reader) to the connected reader.
"""

from __future__ import annotations

import threading

from firmware_bridge.rdm6300 import encode_frame
from firmware_bridge.simulators.tcp_peer import TcpPeer


class Rdm6300Simulator(TcpPeer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__("rdm6300-sim", host, port)

    @property
    def client_connected(self) -> threading.Event:
        """Set while a reader is connected."""
        return self.connected

    def start(self) -> Rdm6300Simulator:
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__()

    def tap(self, uid: str, repeats: int = 2) -> int:
        """Present a card: sends its frame `repeats` times. Returns how many readers received it (0 when the
        reader has not connected yet: wait for `client_connected` and for the reader's own open to finish)."""
        return self.send_raw(encode_frame(uid) * repeats)

    def send_raw(self, data: bytes) -> int:
        return 1 if self.send(data) else 0

    def disconnect_clients(self) -> None:
        """Pull the plug: drop the connection (the gateway must reconnect by itself)."""
        self.unplug()

    def on_data(self, data: bytes) -> None:
        pass  # an RDM6300 only talks
