"""One gate's hardware through its controller: card reads in, decisions out to relay / LED / buzzer, device events
and alarms published, the gate locked by command or by its schedule.

    card at a Wiegand reader -> controller -> CardEvent -> Observation -> policy -> check-in (outbox)
        -> on_checkin(): granted and the gate not locked: pulse the relay, granted LED, short beep
                         otherwise: denied LED, long beep (a granted check-in while locked: "kept_locked")

Everything here runs on the controller's link thread or the caller's; nothing blocks: commands are queued on the
link and their results are logged when they fail.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from edge.config.model import ControllerConfig
from edge.contract.checkin import CheckIn
from edge.gateway.device_events import DeviceEventPublisher
from edge.gateway.policy import GateInfo, Observation
from edge.gateway.schedule import GateSchedule
from firmware_bridge.controller import (
    AlarmEvent,
    CardEvent,
    CommandResult,
    ControllerEvent,
    GateController,
    InputEvent,
    LinkEvent,
)

log = logging.getLogger(__name__)

READER_NAMES = {1: "wiegand-a", 2: "wiegand-b", 3: "rdm6300"}
OFFLINE_GRACE_S = 5.0
"""A controller not connected this long after start (or since it went away) is an alarm in health."""
CLEARED_BY = {"door_held_open": ("door", False), "tamper": ("tamper", False)}
"""Alarms that stay active until an input returns to normal."""


class GateDevices:
    def __init__(
        self,
        gate: GateInfo,
        cfg: ControllerConfig,
        submit: Callable[[Observation], object],
        events: DeviceEventPublisher,
        schedule: GateSchedule | None = None,
    ) -> None:
        self.gate = gate
        self.cfg = cfg
        self.submit = submit
        self.events = events
        self.schedule = schedule
        self.controller = GateController(
            cfg.id, cfg.port, self._on_event, baudrate=cfg.baudrate, command_ttl_s=cfg.command_ttl_s
        )
        self.locked_by_command = False
        self.locked_by_schedule = False
        self.active_alarms: dict[str, str] = {}
        self.actuations = 0
        self.kept_locked = 0
        self.commands_failed = 0
        self._lock = threading.Lock()
        self._started_at = time.monotonic()

    # lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._started_at = time.monotonic()
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def locked(self) -> bool:
        return self.locked_by_command or self.locked_by_schedule

    # controller -> gateway -----------------------------------------------------------------------------
    def _on_event(self, event: ControllerEvent) -> None:
        name = self.cfg.id
        if isinstance(event, CardEvent):
            device = f"{name}-{READER_NAMES.get(event.reader, f'reader-{event.reader}')}"
            self.submit(Observation(self.gate, device, "card", event.at_monotonic, card_uid=event.uid))
        elif isinstance(event, InputEvent):
            self.events.emit(self.gate.gate_id, name, "input", event.name, event.active)
            for alarm, (input_name, normal) in CLEARED_BY.items():
                if event.name == input_name and event.active == normal:
                    self.active_alarms.pop(alarm, None)
        elif isinstance(event, AlarmEvent):
            detail = f"{event.detail}"
            self.events.emit(self.gate.gate_id, name, "alarm", event.name, True, detail)
            if event.name in CLEARED_BY:
                self.active_alarms[event.name] = detail
        elif isinstance(event, LinkEvent):
            self.events.emit(self.gate.gate_id, name, "link", "controller", event.up, event.detail)
            if event.up:
                self._configure()

    def _configure(self) -> None:
        """After every handshake: the controller's settings and the lock state it must hold."""
        c = self.cfg
        self._check(self.controller.configure(c.host_timeout_s, c.door_held_open_s, c.pulse_ms))
        self._check(self.controller.lockdown(self.locked))

    # gateway -> controller -----------------------------------------------------------------------------
    def on_checkin(self, event: CheckIn) -> None:
        """Show the decision at the gate (called after the check-in is in the outbox)."""
        if event.gate != self.gate.gate_id:
            return
        c = self.cfg
        if event.decision == "granted" and not self.locked:
            self.actuations += 1
            self._check(self.controller.open_gate(c.relay, c.pulse_ms))
            self._check(self.controller.led(c.granted_led, c.led_ms))
            self._check(self.controller.buzz(c.granted_beep))
            return
        if event.decision == "granted":
            self.kept_locked += 1
            self.events.emit(self.gate.gate_id, c.id, "gate", "kept_locked", True, event.event_id)
        self._check(self.controller.led(c.denied_led, c.led_ms))
        self._check(self.controller.buzz(c.denied_beep))

    def open_gate(self, ms: int | None = None) -> CommandResult:
        return self.controller.open_gate(self.cfg.relay, ms or self.cfg.pulse_ms)

    def buzz(self, pattern: str) -> CommandResult:
        return self.controller.buzz(pattern)

    def set_command_lock(self, locked: bool) -> CommandResult:
        with self._lock:
            changed = locked != self.locked_by_command
            self.locked_by_command = locked
            result = self.controller.lockdown(self.locked)
        if changed:
            self.events.emit(self.gate.gate_id, self.cfg.id, "gate", "locked", self.locked, "command")
        return result

    def tick(self, now: datetime | None = None) -> None:
        """Apply the schedule (called every second by the gateway's gate-schedule thread)."""
        if self.schedule is None:
            return
        closed = not self.schedule.is_open(now)
        with self._lock:
            if closed == self.locked_by_schedule:
                return
            self.locked_by_schedule = closed
            # a controller not connected yet gets the lock state when it handshakes (_configure)
            result = self.controller.lockdown(self.locked) if self.controller.up else None
        log.info("gate %s: schedule %s", self.gate.gate_id, "closes it" if closed else "opens it")
        self.events.emit(self.gate.gate_id, self.cfg.id, "gate", "locked", self.locked, "schedule")
        if result is not None:
            self._check(result)

    def alarms(self) -> list[str]:
        out = [f"{name} at gate {self.gate.gate_id}: {detail}" for name, detail in self.active_alarms.items()]
        if not self.controller.up and time.monotonic() - self._started_at > OFFLINE_GRACE_S:
            why = self.controller.last_error or "no handshake yet"
            out.append(f"controller_offline at gate {self.gate.gate_id}: {why} (port {self.cfg.port})")
        return out

    def snapshot(self) -> dict[str, object]:
        status = self.controller.status
        return {
            "state": self.controller.state,
            "firmware": ".".join(map(str, self.controller.link.peer_version or ())) or None,
            "locked": self.locked,
            "cards": self.controller.cards_read,
            "actuations": self.actuations,
            "kept_locked": self.kept_locked,
            "uptime_s": status.uptime_s if status else None,
            "bad_reads": status.bad_reads if status else None,
            "events_dropped": status.events_dropped if status else None,
            "link_retransmits": self.controller.link.stats.retransmits,
            "commands_failed": self.commands_failed,
        }

    def _check(self, result: CommandResult) -> None:
        """Log a command that did not succeed, without waiting for it here."""

        def report(r: CommandResult) -> None:
            if r.status != "done":
                self.commands_failed += 1
                log.warning("gate %s: %s -> %s", self.gate.gate_id, r.name, r.status)

        result.add_done_callback(report)
