"""A simulated serial device at the far end of a pyserial `socket://` URL, for tests and tools.

One connection at a time (the device's cable): a named thread accepts it, reads what the host writes and
hands it to `on_data`; `send` is what the device writes back; `unplug` pulls the cable (the host must
reconnect by itself). Subclasses implement the device's protocol.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Self


class TcpPeer:
    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.connected = threading.Event()
        self._conn: socket.socket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.unplug()
        self._thread.join(2)
        self._server.close()

    def unplug(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.close()
                self._conn = None
            self.connected.clear()

    def send(self, data: bytes) -> bool:
        """Write to the host; False when no host is connected."""
        with self._lock:
            if self._conn is None:
                return False
            try:
                self._conn.sendall(data)
            except OSError:
                return False
        return True

    def on_connect(self) -> None:
        """A host has connected (reset per-connection state here)."""

    def on_data(self, data: bytes) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.1)
            with self._lock:
                self._conn = conn
            self.on_connect()
            self.connected.set()
            while not self._stop.is_set() and self._conn is conn:
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                self.on_data(data)
            if self._conn is conn:
                self.unplug()
