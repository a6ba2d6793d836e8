"""PN532 over HSU, frame level: the manual's frame layout, UID parsing, resync after garbage, fuzzing."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.devtools.mosquitto import MosquittoBroker
from firmware_bridge.pn532 import (
    ACK,
    NACK,
    PN532_TO_HOST,
    Pn532Decoder,
    build_frame,
    in_list_passive_target,
    parse_target_uid,
    sam_configuration,
)
from tests.helpers import fuzz_examples


def response(uid: bytes) -> bytes:
    # D5 4B NbTg=1 Tg=1 SENS_RES=00 04 SEL_RES=08 NFCIDLength UID
    return build_frame(bytes([0x4B, 0x01, 0x01, 0x00, 0x04, 0x08, len(uid)]) + uid, tfi=PN532_TO_HOST)


def test_frames_as_in_the_manual() -> None:
    assert build_frame(bytes([0x02])) == bytes.fromhex("0000FF02FED4022A00")  # GetFirmwareVersion
    assert in_list_passive_target() == bytes.fromhex("0000FF04FCD44A0100E100")
    assert sam_configuration()[5:9] == bytes([0xD4, 0x14, 0x01, 0x00])


def test_ack_then_uid_response_split_across_reads_and_after_garbage() -> None:
    d = Pn532Decoder()
    stream = b"\x13\x37\x00" + ACK + response(bytes.fromhex("DEADBEEF")) + NACK
    got = [item for i in range(0, len(stream), 3) for item in d.feed(stream[i : i + 3])]
    assert [kind for kind, _ in got] == ["ack", "frame", "nack"]
    assert parse_target_uid(got[1][1]) == "DEADBEEF"
    seven = bytes.fromhex("04A1B2C3D4E5F6")
    assert parse_target_uid(next(iter(Pn532Decoder().feed(response(seven))))[1]) == "04A1B2C3D4E5F6"


def test_no_card_and_bad_checksums() -> None:
    empty = build_frame(bytes([0x4B, 0x00]), tfi=PN532_TO_HOST)
    assert parse_target_uid(next(iter(Pn532Decoder().feed(empty)))[1]) is None
    good = response(bytes.fromhex("01020304"))
    bad_dcs = good[:-2] + bytes([(good[-2] + 1) & 0xFF]) + good[-1:]
    bad_lcs = good[:4] + bytes([(good[4] + 1) & 0xFF]) + good[5:]
    d = Pn532Decoder()
    got = list(d.feed(bad_dcs + bad_lcs + good))
    assert [parse_target_uid(body) for _, body in got] == ["01020304"]
    assert d.stats.bad_checksum >= 2


@given(st.binary(min_size=4, max_size=4) | st.binary(min_size=7, max_size=7), st.binary(max_size=30), st.integers(1, 9))
@settings(max_examples=fuzz_examples(300), deadline=None)
def test_uid_round_trip_through_noise(uid: bytes, noise: bytes, chunk: int) -> None:
    stream = noise.replace(b"\x00\xff", b"\x01\xff") + response(uid)
    d = Pn532Decoder()
    frames = [
        body for i in range(0, len(stream), chunk) for kind, body in d.feed(stream[i : i + chunk]) if kind == "frame"
    ]
    assert parse_target_uid(frames[-1]) == uid.hex().upper()


@given(st.binary(max_size=2000))
@settings(max_examples=fuzz_examples(500), deadline=None)
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    d = Pn532Decoder()
    for kind, body in d.feed(data):
        assert kind in ("ack", "nack", "frame")
        parse_target_uid(body)
    assert len(d._buf) <= Pn532Decoder.MAX_BUFFER + 8


def test_reader_polls_reports_each_card_once_and_reconnects() -> None:
    from firmware_bridge.pn532_reader import Pn532Reader
    from firmware_bridge.serial_reader import CardRead
    from firmware_bridge.simulators.pn532_sim import Pn532Simulator
    from tests.helpers import wait_until

    got: list[CardRead] = []
    with Pn532Simulator() as sim:
        reader = Pn532Reader("nfc-1", sim.url, got.append, poll_interval_s=0.02, repeat_suppress_s=0.5)
        reader.start()
        try:
            wait_until(lambda: sim.polls >= 3, 5, "polling with no card")
            assert got == []
            sim.present("04A1B2C3D4E5F6")
            wait_until(lambda: len(got) == 1, 5, "the card")
            polls = sim.polls
            wait_until(lambda: sim.polls >= polls + 5, 5, "card held in the field")
            assert len(got) == 1, "a held card is reported once"
            assert got[0].card_uid == "04A1B2C3D4E5F6" and got[0].reader_id == "nfc-1"
            sim.present(None)
            sim.unplug()  # the cable is pulled: the reader reconnects and wakes the PN532 again
            wait_until(lambda: reader.connections == 2 and sim.connected.is_set(), 10, "reconnected")
            sim.present("DEADBEEF")
            wait_until(lambda: len(got) == 2, 5, "the next card after reconnecting")
            assert got[1].card_uid == "DEADBEEF" and reader.bad_frames == 0
        finally:
            reader.stop()


def test_gateway_with_a_pn532_reader_stores_a_mifare_checkin(broker: MosquittoBroker, tmp_path: Path) -> None:
    from edge.config import load_config
    from edge.gateway.service import Gateway
    from firmware_bridge.simulators.pn532_sim import Pn532Simulator
    from tests.gateway_support import gateway_cfg
    from tests.helpers import start_collector, wait_until

    with Pn532Simulator() as sim:
        gate = {
            "id": "nfc-in",
            "direction": "in",
            "mode": "card",
            "readers": [{"id": "nfc-1", "port": sim.url, "protocol": "pn532"}],
        }
        cfg_path = gateway_cfg(tmp_path, broker, None, None, gates=[gate])
        roster = tmp_path / "roster.csv"
        roster.write_text(roster.read_text() + "mia,Mia Card,7B,04a1b2c3d4e5f6\n")
        collector = start_collector(tmp_path / "collector.sqlite", broker, "col-nfc")
        gw = Gateway(load_config(cfg_path))
        try:
            gw.start()
            wait_until(lambda: sim.polls >= 2, 10, "the gateway polls the PN532")
            sim.present("04A1B2C3D4E5F6")
            wait_until(lambda: collector.store.count() == 1, 15, "check-in stored")
            row = next(collector.store.checkins())
            assert (row["person_id"], row["card_uid"], row["method"], row["decision"]) == (
                "mia",
                "04A1B2C3D4E5F6",
                "card",
                "granted",
            )
            assert collector.stats.rejected == 0
        finally:
            gw.stop()
            collector.stop()
            collector.store.close()


def test_reader_config_baudrate_defaults_per_protocol() -> None:
    from edge.config.model import ReaderConfig

    assert ReaderConfig(id="a", port="/dev/ttyS0").baudrate == 9600
    assert ReaderConfig(id="b", port="/dev/ttyS0", protocol="pn532").baudrate == 115200
    assert ReaderConfig(id="c", port="/dev/ttyS0", protocol="pn532", baudrate=57600).baudrate == 57600
