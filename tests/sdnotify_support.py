"""Shared by the systemd notify tests: the service manager's side of NOTIFY_SOCKET."""

from __future__ import annotations

import socket
import time


class NotifySocket:
    """The service manager's side: a datagram socket collecting what the process sends."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.messages: list[dict[str, str]] = []

    def next(self, timeout: float) -> dict[str, str] | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return None
        msg = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        self.messages.append(msg)
        return msg

    def wait_for(self, key: str, timeout: float, value: str | None = None) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.next(left)
            if msg is not None and key in msg and (value is None or value in msg[key]):
                return msg
        raise AssertionError(f"no {key}{'~' + value if value else ''} within {timeout}s; got {self.messages[-5:]}")

    def quiet_for(self, key: str, seconds: float) -> list[dict[str, str]]:
        """Everything received in `seconds`; fails if `key` was among it."""
        got: list[dict[str, str]] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            msg = self.next(left)
            if msg is not None:
                got.append(msg)
                assert key not in msg, f"{key} sent while stuck: {got}"
        return got

    def close(self) -> None:
        self.sock.close()
