"""The link's reliability layer, host side, against a controller speaking the protocol over socket://:
handshake, commands acknowledged, lost ACKs retransmitted, duplicates handed on once, corrupt frames NAK-free
recovery, and reconnection after the cable is pulled."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from firmware_bridge.link.frames import Frame, FrameType
from firmware_bridge.link.session import LinkSession
from firmware_bridge.simulators.controller_sim import ControllerSim
from tests.helpers import wait_until


@pytest.fixture
def sim() -> Iterator[ControllerSim]:
    with ControllerSim() as s:
        yield s


@pytest.fixture
def link(sim: ControllerSim) -> Iterator[tuple[LinkSession, list[Frame]]]:
    got: list[Frame] = []
    session = LinkSession("gate", sim.url, got.append, retransmit_s=0.05, heartbeat_s=0.2, peer_timeout_s=2.0)
    session.start()
    assert session.up.wait(5), session.last_error
    yield session, got
    session.stop()


def test_handshake_reports_version_and_capabilities(link: tuple[LinkSession, list[Frame]]) -> None:
    session, _ = link
    assert session.peer_version == (0, 1, 0) and session.capabilities == 0x001F and session.state == "up"


def test_command_is_acknowledged_and_executed_once(sim: ControllerSim, link: tuple[LinkSession, list[Frame]]) -> None:
    session, got = link
    pending = session.send(FrameType.CMD_RELAY, bytes([0, 0, 0x0B, 0xB8]))
    assert pending.wait(2) and pending.attempts == 1
    wait_until(lambda: any(f.type == FrameType.RESULT for f in got), 2, "RESULT handed on")
    assert [(c.type, c.payload) for c in sim.commands] == [(FrameType.CMD_RELAY, bytes([0, 0, 0x0B, 0xB8]))]


def test_lost_ack_is_retransmitted_and_not_executed_twice(
    sim: ControllerSim, link: tuple[LinkSession, list[Frame]]
) -> None:
    session, _ = link
    sim.faults.swallow_acks = 2  # the controller's first two ACKs are lost
    pending = session.send(FrameType.CMD_LED, bytes([2, 0, 0]))
    assert pending.wait(3)
    assert pending.attempts == 3 and session.stats.retransmits >= 2
    assert len([c for c in sim.commands if c.type == FrameType.CMD_LED]) == 1


def test_duplicate_event_is_handed_on_once_and_acked_twice(
    sim: ControllerSim, link: tuple[LinkSession, list[Frame]]
) -> None:
    session, got = link
    sim.faults.duplicate_next_event = True
    sim.send_event(FrameType.EVENT_CARD, bytes([0, 26, 26, 0x00, 0x2F, 0x1A, 0x2B]))
    wait_until(lambda: session.stats.duplicates == 1, 3, "duplicate seen")
    assert [f.type for f in got if f.type == FrameType.EVENT_CARD] == [FrameType.EVENT_CARD]
    seq = next(f.seq for f in got if f.type == FrameType.EVENT_CARD)
    wait_until(lambda: sim.acks_from_host.count(seq) >= 2, 3, "both copies ACKed")


def test_corrupt_frame_is_dropped_and_counted(sim: ControllerSim, link: tuple[LinkSession, list[Frame]]) -> None:
    session, got = link
    sim.faults.corrupt_next = 1
    sim.send_event(FrameType.EVENT_INPUT, bytes([1, 1]))  # corrupted on the wire: never handed on
    sim.send_event(FrameType.EVENT_INPUT, bytes([2, 1]))
    wait_until(lambda: any(f.payload == bytes([2, 1]) for f in got), 3, "the good event")
    assert not any(f.payload == bytes([1, 1]) for f in got)
    assert sum(session.decoder.stats.by_reason.values()) >= 1


def test_reconnects_after_the_cable_is_pulled(sim: ControllerSim, link: tuple[LinkSession, list[Frame]]) -> None:
    session, _ = link
    sim.unplug()
    wait_until(lambda: not session.up.is_set(), 5, "link down")
    assert session.up.wait(5), "back up by itself"
    assert session.stats.connections == 2 and sim.hellos == 2
    assert session.send(FrameType.CMD_BUZZER, bytes([1])).wait(2)


def test_unreachable_port_keeps_retrying_without_blocking_callers() -> None:
    session = LinkSession("nowhere", "socket://127.0.0.1:9", lambda _: None, reconnect_min_s=0.05)
    session.start()
    try:
        pending = session.send(FrameType.CMD_RELAY, bytes([0, 0, 0, 100]))  # returns at once
        assert not pending.wait(0.3)
        wait_until(lambda: session.last_error is not None, 5, "error reported")
        assert "cannot open socket://127.0.0.1:9" in (session.last_error or "")
        assert threading.active_count() >= 1 and session.state == "error"
    finally:
        session.stop()
