"""The real firmware image in simavr, talked to by the real host stack (GateController over a pty): handshake,
Wiegand 26/34 with parity, relay pulse timing, lockdown, exit button, door held open, tamper, local mode when
the host falls silent, relays released by a reset, and the link recovering after the cable is pulled."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_bridge.controller import AlarmEvent, CardEvent, ControllerEvent, GateController, InputEvent, LinkEvent
from firmware_bridge.simulators.avr_sim import AvrGateSim, PinChange
from firmware_bridge.wiegand import encode
from tests.helpers import wait_until

RELAY1, BUZZER, LED_RED, LED_GREEN = "B0", "B2", "B3", "B4"


@pytest.fixture
def sim(avr_sim: AvrGateSim) -> AvrGateSim:
    return avr_sim


class Events:
    def __init__(self) -> None:
        self.q: queue.Queue[ControllerEvent] = queue.Queue()
        self.seen: list[ControllerEvent] = []

    def __call__(self, event: ControllerEvent) -> None:
        self.q.put(event)

    def next(self, kind: type, timeout: float = 3.0, **match: object) -> ControllerEvent:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind.__name__} {match} within {timeout}s; saw {self.seen}")
            try:
                ev = self.q.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(ev)
            if isinstance(ev, kind) and all(getattr(ev, k) == v for k, v in match.items()):
                return ev


@pytest.fixture
def controller(sim: AvrGateSim) -> Iterator[tuple[GateController, Events]]:
    events = Events()
    c = GateController("gate-a", sim.port, events, heartbeat_s=0.2, peer_timeout_s=2.0)
    c.start()
    assert c.link.up.wait(5), c.last_error
    events.next(LinkEvent, up=True)
    yield c, events
    c.stop()


def test_handshake_reports_firmware_version_and_capabilities(controller: tuple[GateController, Events]) -> None:
    c, _ = controller
    assert c.link.peer_version == (1, 0, 0)
    assert c.link.capabilities & 0b11111 == 0b11111  # Wiegand A and B, RDM6300, relay 2, RGB LED
    wait_until(lambda: c.status is not None, 3, "a heartbeat from the controller")
    assert c.status is not None and not c.status.local_mode and not c.status.relays_on[0]


def test_wiegand_26_and_34_reach_the_host_with_parity_checked(
    sim: AvrGateSim, controller: tuple[GateController, Events]
) -> None:
    c, events = controller
    sim.wiegand("A", encode(bytes([0x7B, 0x30, 0x39])))
    card = events.next(CardEvent)
    assert isinstance(card, CardEvent) and (card.reader, card.bits, card.uid) == (1, 26, "007B3039")
    sim.wiegand("B", encode(bytes.fromhex("DEADBEEF")), interval_us=2000)
    card = events.next(CardEvent)
    assert isinstance(card, CardEvent) and (card.reader, card.bits, card.uid) == (2, 34, "DEADBEEF")
    good = encode(bytes([0x01, 0x02, 0x03]))
    bad = good[:5] + ("1" if good[5] == "0" else "0") + good[6:]  # one data bit flipped: parity fails
    sim.wiegand("A", bad)
    sim.wiegand("A", good[:20])  # a truncated frame
    wait_until(lambda: c.status is not None and c.status.bad_reads == 2, 3, "two bad reads counted")
    assert not any(isinstance(e, CardEvent) and e.uid == "00010203" for e in events.seen)
    assert events.q.empty() or not isinstance(events.q.get_nowait(), CardEvent)


def test_rdm6300_on_the_software_uart_reports_each_card_once(
    sim: AvrGateSim, controller: tuple[GateController, Events]
) -> None:
    c, events = controller
    sim.rdm6300("0F00A1B2C3")
    sim.rdm6300("0F00A1B2C3")  # the reader repeats while the card stays in the field
    card = events.next(CardEvent)
    assert isinstance(card, CardEvent) and (card.reader, card.bits, card.uid) == (3, 40, "0F00A1B2C3")
    sim.rdm6300("62E3086CED")
    card = events.next(CardEvent)
    assert isinstance(card, CardEvent) and card.uid == "62E3086CED"
    frame = bytearray(b"\x0262E3086CED00\x03")  # a bad checksum
    sim.serial(bytes(frame))
    wait_until(lambda: c.status is not None and c.status.bad_reads == 1, 3, "the bad frame counted")
    assert [e.uid for e in events.seen if isinstance(e, CardEvent)] == ["0F00A1B2C3", "62E3086CED"]
    assert c.link.capabilities & 0x0004  # RDM6300 advertised


def test_relay_pulses_for_the_commanded_time(sim: AvrGateSim, controller: tuple[GateController, Events]) -> None:
    c, _ = controller
    assert c.open_gate(relay=1, ms=300).wait(2) == "done"
    on = sim.wait_pin(RELAY1, 1, 2)
    off = sim.wait_pin(RELAY1, 0, 2, after_us=on.sim_us)
    assert abs((off.sim_us - on.sim_us) / 1000 - 300) <= 3
    assert c.open_gate(relay=7, ms=300).wait(2) == "bad_argument"
    assert c.buzz("short").wait(2) == "done"
    sim.wait_pin(BUZZER, 1, 2)


def test_lockdown_refuses_the_relay_but_the_exit_button_still_opens(
    sim: AvrGateSim, controller: tuple[GateController, Events]
) -> None:
    c, events = controller
    assert c.configure(host_timeout_s=3, door_held_s=30, pulse_ms=250).wait(2) == "done"
    assert c.lockdown(True).wait(2) == "done"
    sim.wait_pin(LED_RED, 1, 2)
    assert c.open_gate(1, 500).wait(2) == "refused_lockdown"
    sim.set_input("exit_button", True)
    assert events.next(InputEvent, name="exit_button", active=True)
    on = sim.wait_pin(RELAY1, 1, 2)
    off = sim.wait_pin(RELAY1, 0, 2, after_us=on.sim_us)
    assert abs((off.sim_us - on.sim_us) / 1000 - 250) <= 3
    sim.set_input("exit_button", False)
    assert c.lockdown(False).wait(2) == "done"
    assert c.open_gate(1, 100).wait(2) == "done"


def test_door_held_open_and_tamper_raise_alarms(sim: AvrGateSim, controller: tuple[GateController, Events]) -> None:
    c, events = controller
    assert c.configure(host_timeout_s=3, door_held_s=1, pulse_ms=3000).wait(2) == "done"
    sim.set_input("door", True)
    assert events.next(InputEvent, name="door", active=True)
    alarm = events.next(AlarmEvent, name="door_held_open", timeout=3)
    assert isinstance(alarm, AlarmEvent) and alarm.detail == 1
    sim.wait_pin(BUZZER, 1, 2)
    sim.set_input("door", False)
    assert events.next(InputEvent, name="door", active=False)
    wait_until(lambda: sim.level(BUZZER) == 0, 2, "the buzzer stops once the door closes")
    sim.set_input("tamper", True)
    assert events.next(InputEvent, name="tamper", active=True)
    assert events.next(AlarmEvent, name="tamper")


def test_a_switch_bounce_shorter_than_the_debounce_is_ignored(
    sim: AvrGateSim, controller: tuple[GateController, Events]
) -> None:
    _, events = controller
    sim.set_input("door", True)
    sim.set_input("door", False)  # the two commands land well within the 20 ms debounce
    sim.set_input("tamper", True)
    assert events.next(InputEvent, name="tamper", active=True)
    assert not [e for e in events.seen if isinstance(e, InputEvent) and e.name == "door"]


def test_host_silent_means_local_mode_and_buffered_cards_arrive_later(
    sim: AvrGateSim, firmware_build: tuple[Path, Path]
) -> None:
    events = Events()
    c = GateController("gate-a", sim.port, events, heartbeat_s=0.2)
    c.start()
    assert c.link.up.wait(5)
    assert c.latch(1, True).wait(2) == "done"
    sim.wait_pin(RELAY1, 1, 2)
    c.stop()  # the gateway dies: the controller stops hearing it
    off = sim.wait_pin(RELAY1, 0, 6)  # default host timeout 3 s: the latched relay is released
    sim.wait_pin(LED_RED, 1, 2, after_us=off.sim_us - 1000)  # amber = red + green
    sim.wait_pin(LED_GREEN, 1, 2, after_us=off.sim_us - 1000)
    sim.wiegand("A", encode(bytes([0x00, 0x00, 0x2A])))  # read while nobody listens (returns 50 ms after)
    assert sim.level(RELAY1) == 0  # a card does not open the gate in local mode
    events2 = Events()
    c2 = GateController("gate-a", sim.port, events2, heartbeat_s=0.2)
    c2.start()
    try:
        assert c2.link.up.wait(5)
        assert events2.next(AlarmEvent, name="local_mode")  # in the order things happened
        card = events2.next(CardEvent)
        assert isinstance(card, CardEvent) and card.uid == "0000002A"
        wait_until(lambda: c2.status is not None and not c2.status.local_mode, 3, "local mode left")
    finally:
        c2.stop()


def latched_relay(sim: AvrGateSim, c: GateController) -> PinChange:
    assert c.latch(1, True).wait(2) == "done"
    return sim.wait_pin(RELAY1, 1, 2)


def test_reset_releases_the_relay_and_the_host_handshakes_again(
    sim: AvrGateSim, controller: tuple[GateController, Events]
) -> None:
    c, events = controller
    on = latched_relay(sim, c)
    sim.reset()
    off = sim.wait_pin(RELAY1, 0, 2, after_us=on.sim_us)
    assert off.sim_us - on.sim_us < 1_000_000
    events.next(LinkEvent, up=False, timeout=5)
    events.next(LinkEvent, up=True, timeout=5)
    sim.wiegand("A", encode(bytes([0x12, 0x34, 0x56])))
    card = events.next(CardEvent)
    assert isinstance(card, CardEvent) and card.uid == "00123456"


def test_watchdog_resets_a_hung_firmware_with_the_relay_released(
    sim: AvrGateSim, controller: tuple[GateController, Events]
) -> None:
    c, events = controller
    on = latched_relay(sim, c)
    hung_at = sim.sim_time_us()
    sim.hang()
    reset_at = sim.wait_watchdog_reset(3)
    assert 200_000 <= reset_at - hung_at <= 400_000  # WDTO_250MS (simavr's watchdog runs at its nominal rate)
    off = sim.wait_pin(RELAY1, 0, 2, after_us=on.sim_us)
    assert off.sim_us <= reset_at + 1_000  # released by the reset itself, before any firmware runs
    events.next(LinkEvent, up=False, timeout=5)
    events.next(LinkEvent, up=True, timeout=5)
    alarm = events.next(AlarmEvent, name="watchdog_reset", timeout=5)
    assert isinstance(alarm, AlarmEvent)
    assert c.status is None or not c.status.relays_on[0]


def test_link_recovers_after_the_cable_is_pulled(sim: AvrGateSim, controller: tuple[GateController, Events]) -> None:
    c, events = controller
    sim.unplug()
    events.next(LinkEvent, up=False, timeout=5)
    assert c.open_gate(1, 100).wait(1) == "link_down"
    sim.replug()
    events.next(LinkEvent, up=True, timeout=10)  # the link comes back by itself (edge bench gate times it)
    sim.wiegand("A", encode(bytes([0x0A, 0x0B, 0x0C])))
    card = events.next(CardEvent)
    assert isinstance(card, CardEvent) and card.uid == "000A0B0C"
