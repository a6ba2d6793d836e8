"""A batch's PUBACKs and receipts as ONE write to the broker, instead of two paho calls per check-in.

Why: at full rate the collector spent about a third of its CPU in paho sending these one by one — per packet a
`MQTTMessageInfo` (with its own threading.Condition), a wake-up byte to paho's network thread and a send() system
call each, and for each QoS 1 receipt the bookkeeping of its PUBACK. The packets themselves are trivial (MQTT 5
PUBACK: 4 bytes; a receipt: a PUBLISH of ~100 bytes), so the writer encodes the whole batch into one buffer and
hands it to paho's outgoing queue as one packet: one wake-up, one send().

What is kept: every PUBACK still leaves only after the batch's commit, in the same connection and order as
paho's own packets (one queue). Receipts stay QoS 1 on the wire, so the broker keeps them for a gateway that is
offline (its persistent session) — the guarantee that matters; the collector does not track their PUBACKs (paho
ignores a PUBACK for a packet id it did not send), so a receipt lost with the collector's own connection is not
re-sent by the collector: the gateway re-sends the check-in after its receipt timeout and gets "duplicate",
which is the same recovery as for every other lost receipt. Packet ids come from paho's own counter, so they
never collide with what paho sends itself (status messages).

paho's `_packet_queue`, `_mid_generate`, `_handle_pubackcomp`, `_in_packet` and `_out_messages` are private, and so
are the ones reads.py uses: their meaning was read and tested in paho-mqtt VERIFIED_PAHO (pinned exactly in
pyproject.toml and requirements.lock). `supported()` uses them only under that very version; under any other the
collector logs a warning and falls back to paho's public ack() and publish() (about 1.4x the CPU per check-in,
README "Deploying for a district"), and tests/test_paho_pin.py fails, so that a paho upgrade is a decision: re-read
these internals, re-run the collector tests, then move the pin."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import paho.mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

VERIFIED_PAHO = "2.2.0"
"""The paho-mqtt release whose private internals this module and reads.py were verified against."""

PUBACK = 0x40
PUBLISH_QOS1 = 0x32


def varint(n: int) -> bytes:
    """MQTT's Variable Byte Integer (remaining length, property length): 7 bits a byte, low first, at most 4."""
    if not 0 <= n <= 268_435_455:
        raise ValueError(f"not encodable as an MQTT variable byte integer: {n}")
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def pubacks(mids: Iterable[int]) -> bytes:
    """MQTT 5 PUBACKs, success without properties: the 2-byte form (as paho's ack() writes them)."""
    return b"".join(bytes((PUBACK, 2, mid >> 8, mid & 0xFF)) for mid in mids)


def publish_qos1(topic: bytes, mid: int, payload: bytes) -> bytes:
    """An MQTT 5 PUBLISH at QoS 1, no properties, not retained."""
    variable = len(topic).to_bytes(2, "big") + topic + mid.to_bytes(2, "big") + b"\x00"
    return bytes((PUBLISH_QOS1,)) + varint(len(variable) + len(payload)) + variable + payload


def paho_verified() -> bool:
    """The installed paho is the release the fast path was verified against."""
    return paho.mqtt.__version__ == VERIFIED_PAHO


def supported(client: mqtt.Client) -> bool:
    if not paho_verified():
        return False
    names = ("_packet_queue", "_mid_generate", "_handle_pubackcomp")
    return all(callable(getattr(client, n, None)) for n in names) and hasattr(client, "_in_packet")


def skip_receipt_pubacks(client: mqtt.Client) -> None:
    """The broker's PUBACK for each receipt, dropped before paho decodes it: paho would build a ReasonCode and an
    MQTT 5 Properties object for it and then ignore it (8 % of the collector at full rate). A PUBACK whose packet
    id paho is waiting for (its own messages: status) still goes to paho; so does anything malformed."""
    if getattr(client._handle_pubackcomp, "skips_receipts", False):
        return
    handle = client._handle_pubackcomp

    def handle_pubackcomp(cmd: Any) -> MQTTErrorCode:
        packet = client._in_packet["packet"]
        if cmd == "PUBACK" and len(packet) >= 2 and ((packet[0] << 8) | packet[1]) not in client._out_messages:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return handle(cmd)

    handle_pubackcomp.skips_receipts = True  # type: ignore[attr-defined]
    setattr(client, "_handle_pubackcomp", handle_pubackcomp)  # noqa: B010


def next_mid(client: mqtt.Client) -> int:
    return int(client._mid_generate())


def send_raw(client: mqtt.Client, packets: bytes) -> None:
    """Queue already-encoded packets behind whatever paho has queued, as one write. Labelled a PUBACK for paho's
    writer, which then does nothing with it but send it (it looks only at PUBLISH QoS 0 and DISCONNECT)."""
    if packets:
        client._packet_queue(PUBACK, packets, 0, 0)
