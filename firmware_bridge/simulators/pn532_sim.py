"""A PN532 in HSU mode behind a TCP socket (pyserial `socket://`), for tests: ACKs every command frame, answers
SAMConfiguration, RFConfiguration and InListPassiveTarget, with the card currently `present` (or none)."""

from __future__ import annotations

import contextlib
import socket
import threading

from firmware_bridge.pn532 import ACK, PN532_TO_HOST, Pn532Decoder, build_frame


class Pn532Simulator:
    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.card: bytes | None = None
        self.polls = 0
        self.connected = threading.Event()
        self._conn: socket.socket | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="pn532-sim", daemon=True)

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def __enter__(self) -> Pn532Simulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.unplug()
        self._thread.join(2)
        self._server.close()

    def present(self, uid_hex: str | None) -> None:
        """Hold a card (its UID in hex) in the field, or take it away (None)."""
        self.card = None if uid_hex is None else bytes.fromhex(uid_hex)

    def unplug(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()
        self.connected.clear()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.1)
            self._conn = conn
            self.connected.set()
            decoder = Pn532Decoder()
            while not self._stop.is_set() and self._conn is conn:
                try:
                    data = conn.recv(1024)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                for kind, body in decoder.feed(data):
                    if kind == "frame" and len(body) >= 2:
                        with contextlib.suppress(OSError):
                            conn.sendall(ACK + self._answer(body[1]))
            self.unplug()

    def _answer(self, command: int) -> bytes:
        if command == 0x4A:
            self.polls += 1
            if self.card is None:
                return build_frame(bytes([0x4B, 0x00]), tfi=PN532_TO_HOST)
            uid = self.card
            return build_frame(bytes([0x4B, 0x01, 0x01, 0x00, 0x04, 0x08, len(uid)]) + uid, tfi=PN532_TO_HOST)
        return build_frame(bytes([command + 1]), tfi=PN532_TO_HOST)
