"""A PN532 in HSU mode behind a TCP socket (pyserial `socket://`), for tests: ACKs every command frame, answers
SAMConfiguration, RFConfiguration and InListPassiveTarget, with the card currently `present` (or none)."""

from __future__ import annotations

from firmware_bridge.pn532 import ACK, PN532_TO_HOST, Pn532Decoder, build_frame
from firmware_bridge.simulators.tcp_peer import TcpPeer


class Pn532Simulator(TcpPeer):
    def __init__(self) -> None:
        super().__init__("pn532-sim")
        self.card: bytes | None = None
        self.polls = 0
        self._decoder = Pn532Decoder()

    def on_connect(self) -> None:
        self._decoder = Pn532Decoder()

    def on_data(self, data: bytes) -> None:
        for kind, body in self._decoder.feed(data):
            if kind == "frame" and len(body) >= 2:
                self.send(ACK + self._answer(body[1]))

    def present(self, uid_hex: str | None) -> None:
        """Hold a card (its UID in hex) in the field, or take it away (None)."""
        self.card = None if uid_hex is None else bytes.fromhex(uid_hex)

    def _answer(self, command: int) -> bytes:
        if command == 0x4A:
            self.polls += 1
            if self.card is None:
                return build_frame(bytes([0x4B, 0x00]), tfi=PN532_TO_HOST)
            uid = self.card
            return build_frame(bytes([0x4B, 0x01, 0x01, 0x00, 0x04, 0x08, len(uid)]) + uid, tfi=PN532_TO_HOST)
        return build_frame(bytes([command + 1]), tfi=PN532_TO_HOST)
