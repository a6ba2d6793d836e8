"""A card reader on any pyserial port URL, on its own thread, reconnecting by itself.

The thread never blocks the gateway: it only calls `on_card` (which must be quick) for each new card.
A card held on the reader repeats its frame; repeats of the same card within `repeat_suppress_s` are dropped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import serial

from firmware_bridge.rdm6300 import Rdm6300Decoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardRead:
    reader_id: str
    card_uid: str
    at_monotonic: float


CardCallback = Callable[[CardRead], None]


class SerialCardReader:
    def __init__(
        self,
        reader_id: str,
        port: str,
        on_card: CardCallback,
        *,
        baudrate: int = 9600,
        repeat_suppress_s: float = 1.5,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 5.0,
    ) -> None:
        self.reader_id = reader_id
        self.port = port
        self.baudrate = baudrate
        self.on_card = on_card
        self.repeat_suppress_s = repeat_suppress_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.decoder = Rdm6300Decoder()
        self.state = "starting"
        self.last_error: str | None = None
        self.cards_read = 0
        self.connections = 0
        """Successful opens so far (a reconnect makes it 2, ...). Bytes sent before an open completes are lost:
        pyserial's open() clears the input buffer."""
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._last: tuple[str, float] | None = None
        self._thread = threading.Thread(target=self._run, name=f"reader-{reader_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        delay = self.reconnect_min_s
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.2)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._set_error(f"cannot open {self.port}: {exc}")
                self._stop.wait(delay)
                delay = min(delay * 2, self.reconnect_max_s)
                continue
            log.info("reader %s connected on %s", self.reader_id, self.port)
            self.state = "connected"
            self.connections += 1
            self.connected.set()
            delay = self.reconnect_min_s
            try:
                self._read_loop(port)
            except (serial.SerialException, OSError) as exc:
                self._set_error(f"lost {self.port}: {exc}")
            finally:
                self.connected.clear()
                with contextlib.suppress(serial.SerialException, OSError):
                    port.close()
            if not self._stop.is_set():
                self._stop.wait(delay)
        self.state = "stopped"

    def _read_loop(self, port: serial.SerialBase) -> None:
        while not self._stop.is_set():
            data = port.read(getattr(port, "in_waiting", 0) or 1)
            if not data:
                continue
            for uid in self.decoder.feed(data):
                self._deliver(uid)

    def _deliver(self, uid: str) -> None:
        now = time.monotonic()
        if self._last and self._last[0] == uid and now - self._last[1] < self.repeat_suppress_s:
            self._last = (uid, now)
            return
        self._last = (uid, now)
        self.cards_read += 1
        try:
            self.on_card(CardRead(self.reader_id, uid, now))
        except Exception:
            log.exception("card handler failed on reader %s (the card UID is not logged)", self.reader_id)

    @property
    def bad_frames(self) -> int:
        """Frames dropped for a bad checksum or a malformed layout (for health)."""
        return self.decoder.stats.bad_checksum + self.decoder.stats.malformed

    def _set_error(self, msg: str) -> None:
        if msg != self.last_error:
            log.warning("reader %s: %s (retrying)", self.reader_id, msg)
        self.last_error = msg
        self.state = "disconnected"
