"""RDM6300 frames (datasheet format) and the serial reader thread on real pyserial URLs."""

from __future__ import annotations

import queue
import threading

import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.rdm6300 import Rdm6300Decoder, checksum, encode_frame
from firmware_bridge.serial_reader import CardRead, SerialCardReader
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import fuzz_examples, wait_until

# Worked example: data 62 E3 08 6C ED, XOR = 0x08
EXAMPLE = b"\x02" + b"62E3086CED" + b"08" + b"\x03"


def test_encode_matches_datasheet_layout() -> None:
    assert checksum("62E3086CED") == 0x08
    assert encode_frame("62e3086ced") == EXAMPLE
    assert len(EXAMPLE) == 14


def test_decode_one_frame() -> None:
    d = Rdm6300Decoder()
    assert d.feed(EXAMPLE) == ["62E3086CED"]
    assert d.stats.frames == 1


def test_lowercase_hex_accepted() -> None:
    frame = b"\x02" + b"62e3086ced" + b"08" + b"\x03"
    assert Rdm6300Decoder().feed(frame) == ["62E3086CED"]


def test_bad_checksum_rejected_and_counted() -> None:
    d = Rdm6300Decoder()
    bad = EXAMPLE[:11] + b"09" + b"\x03"
    assert d.feed(bad) == []
    assert d.stats.bad_checksum == 1
    assert d.feed(EXAMPLE) == ["62E3086CED"]


def test_garbage_between_frames_is_skipped() -> None:
    d = Rdm6300Decoder()
    other = encode_frame("0F00A1B2C3")
    stream = b"\x00\xffnoise" + EXAMPLE + b"\x03\x03zz\r\n" + other + b"tail"
    assert d.feed(stream) == ["62E3086CED", "0F00A1B2C3"]
    assert d.stats.garbage_bytes == len(b"\x00\xffnoise") + len(b"\x03\x03zz\r\n") + len(b"tail")


def test_frame_split_across_reads() -> None:
    d = Rdm6300Decoder()
    out = []
    for i in range(len(EXAMPLE)):
        out += d.feed(EXAMPLE[i : i + 1])
    assert out == ["62E3086CED"]


def test_truncated_frame_then_new_stx_resyncs() -> None:
    d = Rdm6300Decoder()
    assert d.feed(EXAMPLE[:7] + EXAMPLE) == ["62E3086CED"]
    assert d.stats.malformed == 1


def test_non_hex_and_missing_etx_are_malformed() -> None:
    d = Rdm6300Decoder()
    assert d.feed(b"\x0262E3G86CED08\x03") == []
    assert d.feed(EXAMPLE[:13] + b"X") == []
    assert d.stats.malformed == 2
    assert d.feed(EXAMPLE) == ["62E3086CED"]


@given(
    st.text(alphabet="0123456789ABCDEF", min_size=10, max_size=10),
    st.binary(max_size=40),
    st.integers(min_value=1, max_value=14),
)
def test_round_trip_through_noise_and_chunking(uid: str, noise: bytes, chunk: int) -> None:
    noise = noise.replace(b"\x02", b"")  # an STX in the noise would legitimately start a frame
    data = noise + encode_frame(uid) + noise
    d = Rdm6300Decoder()
    out: list[str] = []
    for i in range(0, len(data), chunk):
        out += d.feed(data[i : i + chunk])
    assert out == [uid]


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    d = Rdm6300Decoder()
    for uid in d.feed(data):
        assert len(uid) == 10
    assert d.feed(EXAMPLE)[-1:] == ["62E3086CED"]  # and it still decodes afterwards


def test_reader_over_loop_url() -> None:
    """pyserial's loop:// device: what is written comes back — the reader thread decodes it."""
    port = serial.serial_for_url("loop://", timeout=0.1)
    got: queue.Queue[CardRead] = queue.Queue()
    reader = SerialCardReader("r1", "loop://", got.put)
    # The reader opens its own loop:// instance; drive the decoder path directly through _read_loop instead.
    stop = threading.Event()
    reader._stop = stop
    port.write(b"junk" + EXAMPLE)
    t = threading.Thread(target=reader._read_loop, args=(port,), name="test-loop-reader")
    t.start()
    card = got.get(timeout=5)
    stop.set()
    t.join(5)
    assert card.card_uid == "62E3086CED" and card.reader_id == "r1"


def test_reader_over_socket_url_with_repeats_and_reconnect() -> None:
    got: queue.Queue[CardRead] = queue.Queue()
    with Rdm6300Simulator() as sim:
        reader = SerialCardReader("r1", sim.url, got.put, repeat_suppress_s=1.0, reconnect_max_s=0.5)
        reader.start()
        try:
            wait_until(lambda: reader.connections == 1 and sim.client_connected.is_set(), 5, "reader open")
            sim.tap("0F00A1B2C3", repeats=3)  # a held card repeats: one read
            assert got.get(timeout=5).card_uid == "0F00A1B2C3"
            sim.tap("62E3086CED")
            assert got.get(timeout=5).card_uid == "62E3086CED"
            assert got.empty()

            sim.disconnect_clients()  # unplug
            wait_until(lambda: reader.connections == 2 and sim.client_connected.is_set(), 5, "reader reconnected")
            sim.tap("1A2B3C4D5E")
            assert got.get(timeout=5).card_uid == "1A2B3C4D5E"
        finally:
            reader.stop()
    assert reader.state == "stopped"


def test_reader_keeps_retrying_a_missing_port() -> None:
    reader = SerialCardReader("r1", "socket://127.0.0.1:1", lambda _c: None, reconnect_max_s=0.2)
    reader.start()
    try:
        deadline_ok = threading.Event()
        for _ in range(100):
            if reader.last_error:
                deadline_ok.set()
                break
            deadline_ok.wait(0.05)
        assert reader.last_error and "cannot open socket://127.0.0.1:1" in reader.last_error
        assert reader.state == "disconnected"
    finally:
        reader.stop()
