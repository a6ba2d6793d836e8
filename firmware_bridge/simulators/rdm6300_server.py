"""A simulated RDM6300 reader served on TCP, for pyserial's socket:// URLs.

The gateway connects to socket://127.0.0.1:PORT exactly as it would open /dev/ttyS0. `tap(uid)` sends the
frame for that card (repeated like a card held on a real reader). Bytes go to every connected client.
"""

from __future__ import annotations

import logging
import socket
import threading

from firmware_bridge.rdm6300 import encode_frame

log = logging.getLogger(__name__)


class Rdm6300Simulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.2)
        self.host, self.port = self._server.getsockname()[:2]
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self.client_connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="rdm6300-sim", daemon=True)

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    def start(self) -> Rdm6300Simulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.disconnect_clients()
        self._server.close()

    def __enter__(self) -> Rdm6300Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def tap(self, uid: str, repeats: int = 2) -> int:
        """Present a card: sends its frame `repeats` times. Returns how many clients received it (0 when the
        reader has not connected yet: wait for `client_connected` and for the reader's own open to finish)."""
        return self.send_raw(encode_frame(uid) * repeats)

    def send_raw(self, data: bytes) -> int:
        sent = 0
        with self._lock:
            for c in list(self._clients):
                try:
                    c.sendall(data)
                    sent += 1
                except OSError:
                    self._clients.remove(c)
                    c.close()
        return sent

    def disconnect_clients(self) -> None:
        """Pull the plug: drop every connection (the gateway must reconnect by itself)."""
        with self._lock:
            for c in self._clients:
                c.close()
            self._clients.clear()
            self.client_connected.clear()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._clients.append(conn)
            self.client_connected.set()
