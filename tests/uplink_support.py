"""A cuttable TCP link for tests: the school's Internet link (test_bridge) or a school's whole network
(test_absence_holds_live)."""

from __future__ import annotations

import contextlib
import socket
import threading

from edge.devtools.mosquitto import free_port


class Uplink:
    """A TCP proxy standing for the school's Internet link: cut() drops every connection and stops listening (a
    reconnect is refused, as across a dead link), restore() listens on the same port again.

    Why not accept-then-close while cut: Mosquitto 2.0.11's bridge spins at 100 % CPU, serving nobody, when the
    remote closes the TCP connection in the middle of the TLS handshake (eclipse/mosquitto#2594; seen here with
    this proxy) — what a TCP load balancer with no healthy backend does. README "Deploying for a district" says so."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self.restore()
        self._thread = threading.Thread(target=self._accept, name="uplink-proxy", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            server = self._server
            if server is None:
                self._stop.wait(0.05)
                continue
            try:
                client, _ = server.accept()
            except OSError:  # timeout, or cut() closed the listening socket under us
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), name="uplink-pipe", daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            conns, self._conns = self._conns, []
        if server is not None:
            server.close()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def restore(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port at once
        server.settimeout(0.2)
        with self._lock:
            self._server = server

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._thread.join(5)
