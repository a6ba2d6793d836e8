"""The collector's shortcuts under paho: one-write PUBACKs and receipts (edge/central/collector/wire.py) whose bytes
are what paho itself would send (checked with paho's own decoder), buffered reads (reads.py) that hand paho the
stream exactly as the socket would, and both paths — shortcuts on, and paho's public calls only — answering a
gateway through the real closed broker (TLS: the buffered reads sit on an SSL socket there)."""

from __future__ import annotations

import itertools
import json
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion

from edge.central.collector import reads, wire
from edge.central.collector.service import Collector
from edge.central.store import open_store
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.devtools.mosquitto import MosquittoBroker
from tests.helpers import Watcher


def _read_varint(data: bytes) -> tuple[int, int]:
    """(value, bytes used): the MQTT specification's decoding algorithm, written independently of wire.varint."""
    value, mult = 0, 1
    for i, byte in enumerate(data):
        value += (byte & 0x7F) * mult
        if not byte & 0x80:
            return value, i + 1
        mult *= 128
    raise ValueError("truncated")


@given(st.integers(min_value=0, max_value=268_435_455))
def test_varint_round_trip(n: int) -> None:
    encoded = wire.varint(n)
    assert _read_varint(encoded) == (n, len(encoded))
    assert len(encoded) == 1 + (n > 127) + (n > 16_383) + (n > 2_097_151)


def test_varint_out_of_range() -> None:
    for bad in (-1, 268_435_456):
        with pytest.raises(ValueError, match="variable byte integer"):
            wire.varint(bad)


@given(st.lists(st.integers(min_value=1, max_value=65_535), max_size=50))
def test_pubacks_are_pahos_own(mids: list[int]) -> None:
    assert wire.pubacks(mids) == b"".join(struct.pack("!BBH", 0x40, 2, m) for m in mids)


@given(
    topic=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="+#\x00"), min_size=1, max_size=300),
    mid=st.integers(min_value=1, max_value=65_535),
    payload=st.binary(max_size=70_000),
)
def test_publish_decodes_with_paho(topic: str, mid: int, payload: bytes) -> None:
    packet = wire.publish_qos1(topic.encode(), mid, payload)
    remaining, used = _read_varint(packet[1:])
    assert len(packet) == 1 + used + remaining
    decoded = _packet.decode_publish(packet[0], packet[1 + used :], MQTTProtocolVersion.MQTTv5)
    assert (decoded.qos, decoded.retain, decoded.dup) == (1, False, False)
    assert (decoded.topic, decoded.mid, decoded.payload) == (topic.encode(), mid, payload)


class _ChunkedSocket:
    """A socket that returns the stream in the given chunks, raises BlockingIOError between them, then EOF."""

    def __init__(self, data: bytes, cuts: list[int]) -> None:
        points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
        self.chunks: list[bytes | None] = []
        for a, b in itertools.pairwise(points):
            self.chunks += [data[a:b], None]  # None: nothing there yet
        self.sent = b""

    def recv(self, n: int) -> bytes:
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if chunk is None:
            raise BlockingIOError
        assert n == reads.READ_BYTES
        return chunk

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)

    def fileno(self) -> int:
        return 99


@given(st.binary(max_size=3000), st.lists(st.integers(min_value=0, max_value=3000), max_size=8),
       st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=40))  # fmt: skip
def test_buffered_reads_hand_paho_the_same_stream(data: bytes, cuts: list[int], sizes: list[int]) -> None:
    sock = _ChunkedSocket(data, cuts)
    r = reads.BufferedReads(sock)
    got, i = b"", 0
    while True:
        n = sizes[i % len(sizes)]
        i += 1
        try:
            part = r.recv(n)
        except BlockingIOError:
            assert r.pending() == 0  # paho only waits in select() when nothing is read ahead
            continue
        assert len(part) <= n
        if not part:
            break
        got += part
    assert got == data and r.pending() == 0
    assert r.send(b"x") == 1 and sock.sent == b"x" and r.fileno() == 99


def test_buffered_reads_add_a_tls_sockets_own_pending() -> None:
    class Tls(_ChunkedSocket):
        def pending(self) -> int:
            return 7

    r = reads.BufferedReads(Tls(b"abcdef", [3]))
    assert r.recv(1) == b"a" and r.pending() == 2 + 7


@pytest.mark.parametrize("one_write", [True, False])
def test_both_paths_answer_through_the_broker(
    broker: MosquittoBroker, watcher: Watcher, tmp_path: Path, one_write: bool
) -> None:
    """A few check-ins, one of them sent twice and one rejected: stored/duplicate/rejected receipts arrive either
    way, and the broker had every message acknowledged (nothing is re-delivered to a second collector)."""
    name = f"wire-{'one' if one_write else 'paho'}"
    store = open_store(str(tmp_path / "c.sqlite"))
    c = Collector(store, host="127.0.0.1", port=broker.port, collector_id=name, group=name,
                  tls=broker.identity(name, "collector"), one_write=one_write)  # fmt: skip
    assert c._one_write is one_write
    c.start()
    try:
        assert c.wait_ready(10)
        assert isinstance(c._client._sock, reads.BufferedReads) is one_write
        assert getattr(c._client.loop_read, "buffered", False) is one_write
        events = [CheckIn(new_event_id(), broker.site, "gw-wire", "main", "in", rfc3339_ms(), seq, "card", "p1",
                          "granted", card_uid="0F00A1B2C3") for seq in (1, 2)]  # fmt: skip
        topic = f"edge/v1/{broker.site}/gw-wire/checkin"
        for e in (*events, events[0]):
            watcher.publish(topic, e.to_json().encode())
        bad = json.loads(events[1].to_json()) | {"event_id": new_event_id(), "seq": 3, "decision": "maybe"}
        watcher.publish(topic, json.dumps(bad).encode())
        want = {(events[0].event_id, "stored"), (events[1].event_id, "stored"), (events[0].event_id, "duplicate"),
                (bad["event_id"], "rejected")}  # fmt: skip
        got: set[tuple[str, str]] = set()
        while got != want:
            _, body = watcher.wait_for(lambda t, _p: t.endswith("/gw-wire/receipt"), 10, f"receipts {want - got}")
            receipt = json.loads(body)
            got.add((receipt["event_id"], receipt["status"]))
        assert c.stats.receipts == 4 and store.count() == 2 and store.count("rejected") == 1
        # paho's own QoS 1 messages still get their PUBACK through (only the receipts' are skipped)
        assert getattr(c._client._handle_pubackcomp, "skips_receipts", False) is one_write
        own = c._client.publish(c.status_topic, b"online", qos=1, retain=True)
        own.wait_for_publish(5)
        assert own.is_published()
    finally:
        c.stop()
        store.close()
    # a second collector in the same group gets nothing re-delivered: every message had its PUBACK
    again = open_store(str(tmp_path / "again.sqlite"))
    c2 = Collector(again, host="127.0.0.1", port=broker.port, collector_id=name, group=name,
                   tls=broker.identity(name, "collector"), one_write=one_write)  # fmt: skip
    c2.start()
    try:
        assert c2.wait_ready(10)
        c2.stop()
        assert c2.stats.received == 0, "unacknowledged messages were re-delivered"
    finally:
        again.close()
