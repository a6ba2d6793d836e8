"""A PN532 (ISO 14443A: MIFARE, NTAG, DESFire) on a UART in HSU mode, polled on the reader's own thread.

After each (re)connect: wake-up preamble, SAMConfiguration (normal mode), RFConfiguration MaxRetries so that
InListPassiveTarget answers at once when no card is there; then InListPassiveTarget every `poll_interval_s`.
Same public surface and reconnect behaviour as the RDM6300 reader (SerialCardReader): one `on_card` per new
card, repeats of a card held in the field suppressed for `repeat_suppress_s`.
"""

from __future__ import annotations

import logging
import time

import serial

from firmware_bridge.pn532 import (
    IN_LIST_PASSIVE_TARGET,
    SAM_CONFIGURATION,
    WAKEUP,
    Pn532Decoder,
    build_frame,
    in_list_passive_target,
    parse_target_uid,
    sam_configuration,
)
from firmware_bridge.serial_reader import CardCallback, SerialCardReader

log = logging.getLogger(__name__)

RF_CONFIGURATION = 0x32
MAX_RETRIES = build_frame(bytes([RF_CONFIGURATION, 0x05, 0xFF, 0x01, 0x02]))
"""RFConfiguration item 5: MxRtyATR 0xFF, MxRtyPSL 1, MxRtyPassiveActivation 2 (do not wait for a card)."""


class Pn532Reader(SerialCardReader):
    def __init__(
        self,
        reader_id: str,
        port: str,
        on_card: CardCallback,
        *,
        baudrate: int = 115200,
        poll_interval_s: float = 0.1,
        answer_timeout_s: float = 1.0,
        **kwargs: float,
    ) -> None:
        super().__init__(reader_id, port, on_card, baudrate=baudrate, **kwargs)
        self.pn532 = Pn532Decoder()
        self.poll_interval_s = poll_interval_s
        self.answer_timeout_s = answer_timeout_s

    @property
    def bad_frames(self) -> int:
        return self.pn532.stats.bad_checksum + self.pn532.stats.malformed

    def _read_loop(self, port: serial.SerialBase) -> None:
        port.write(WAKEUP)
        self._exchange(port, sam_configuration(), SAM_CONFIGURATION)
        self._exchange(port, MAX_RETRIES, RF_CONFIGURATION)
        while not self._stop.is_set():
            body = self._exchange(port, in_list_passive_target(), IN_LIST_PASSIVE_TARGET)
            uid = parse_target_uid(body)
            if uid is not None:
                self._deliver(uid)
            self._stop.wait(self.poll_interval_s)

    def _exchange(self, port: serial.SerialBase, frame: bytes, command: int) -> bytes:
        """Send a command frame and return the PN532's response body (D5, command + 1, ...)."""
        port.write(frame)
        deadline = time.monotonic() + self.answer_timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            for kind, body in self.pn532.feed(port.read(64)):
                if kind == "nack":
                    port.write(frame)
                elif kind == "frame" and len(body) >= 2 and body[1] == command + 1:
                    return body
        raise OSError(f"no answer from the PN532 to command 0x{command:02X} within {self.answer_timeout_s:.1f}s")
