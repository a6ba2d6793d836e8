"""The gate controller as the gateway sees it: typed events in, commands out, each command with a result.

    controller = GateController("gate-a", "/dev/ttyAMA0", on_event=print)
    controller.start()
    result = controller.open_gate(relay=1, ms=3000)   # never blocks
    result.wait(1.0)                                   # -> CommandResult("done"), "refused_lockdown", "timeout" ...

Events (CardEvent, InputEvent, AlarmEvent, LinkEvent) are delivered on the link thread `link-<name>`; handlers
must not block. The link (firmware_bridge/link/session.py) reconnects by itself; a command that cannot go out
within its `ttl_s` is given up rather than run late ("open the gate" ten seconds after the tap is wrong).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from firmware_bridge.link.frames import Frame, FrameType
from firmware_bridge.link.session import LinkSession, Pending

log = logging.getLogger(__name__)

CARD_FORMAT_EM4100 = 0x40
INPUT_NAMES = {1: "door", 2: "exit_button", 3: "tamper"}
ALARM_NAMES = {1: "door_held_open", 2: "tamper", 3: "watchdog_reset", 4: "local_mode"}
RESULT_NAMES = {0: "done", 1: "refused_lockdown", 2: "bad_argument", 3: "unsupported"}
BUZZER_PATTERNS = {"off": 0, "short": 1, "long": 2, "alarm": 3}
LED_COLOURS = {"off": 0, "red": 1, "green": 2, "blue": 3, "amber": 4}

InputName = Literal["door", "exit_button", "tamper"]


@dataclass(frozen=True)
class CardEvent:
    controller: str
    reader: int
    """1 = Wiegand A, 2 = Wiegand B, 3 = RDM6300 on the controller's UART."""
    bits: int
    uid: str
    """Upper-case hex, at least 4 bytes (a Wiegand 26 frame's 24 data bits are zero-padded: '007B3039')."""
    at_monotonic: float


@dataclass(frozen=True)
class InputEvent:
    controller: str
    name: str
    active: bool
    """door: open; exit_button: pressed; tamper: enclosure opened."""
    at_monotonic: float


@dataclass(frozen=True)
class AlarmEvent:
    controller: str
    name: str
    detail: int
    at_monotonic: float


@dataclass(frozen=True)
class LinkEvent:
    controller: str
    up: bool
    detail: str


ControllerEvent = CardEvent | InputEvent | AlarmEvent | LinkEvent


@dataclass(frozen=True)
class ControllerStatus:
    """From the controller's last HEARTBEAT."""

    uptime_s: int
    reset_cause: int
    local_mode: bool
    lockdown: bool
    door_open: bool
    relays_on: tuple[bool, bool]
    bad_reads: int
    events_dropped: int
    bad_frames: int

    @staticmethod
    def parse(p: bytes) -> ControllerStatus | None:
        if len(p) < 9:
            return None
        flags = p[5]
        return ControllerStatus(
            int.from_bytes(p[0:4], "big"),
            p[4],
            bool(flags & 0x01),
            bool(flags & 0x02),
            bool(flags & 0x04),
            (bool(flags & 0x08), bool(flags & 0x10)),
            p[6],
            p[7],
            p[8],
        )


@dataclass
class CommandResult:
    """The outcome of one command: `status` is set when `done` is."""

    name: str
    pending: Pending
    done: threading.Event = field(default_factory=threading.Event)
    status: str = "pending"
    created_at: float = field(default_factory=time.monotonic)
    _callbacks: list[Callable[[CommandResult], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_done_callback(self, fn: Callable[[CommandResult], None]) -> None:
        """Call `fn(result)` when it finishes (at once if it has): on the link thread, so it must not block."""
        with self._lock:
            if not self.done.is_set():
                self._callbacks.append(fn)
                return
        fn(self)

    def wait(self, timeout: float) -> str:
        """The status: done, refused_lockdown, bad_argument, unsupported; or timeout, link_down, expired."""
        if not self.done.wait(timeout):
            return "timeout"
        return self.status

    def _finish(self, status: str) -> None:
        with self._lock:
            if self.done.is_set():
                return
            self.status = status
            self.done.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            try:
                fn(self)
            except Exception:
                log.exception("command %s: callback failed", self.name)


def card_uid(data: bytes) -> str:
    """Canonical UID of a card read: at least 4 bytes of upper-case hex."""
    return data.rjust(4, b"\x00").hex().upper()


class GateController:
    def __init__(
        self,
        name: str,
        port: str,
        on_event: Callable[[ControllerEvent], None],
        *,
        baudrate: int = 115200,
        command_ttl_s: float = 1.0,
        **link_options: Any,
    ) -> None:
        self.name = name
        self.on_event = on_event
        self.command_ttl_s = command_ttl_s
        self.status: ControllerStatus | None = None
        self.cards_read = 0
        self._results: dict[int, CommandResult] = {}  # keyed by id(Pending) until its seq is known
        self._lock = threading.Lock()
        self.link = LinkSession(
            name,
            port,
            self._on_frame,
            baudrate=baudrate,
            on_heartbeat=self._on_heartbeat,
            on_link=self._on_link,
            **link_options,
        )

    # lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self.link.start()

    def stop(self, timeout: float = 3.0) -> None:
        self.link.stop(timeout)

    @property
    def up(self) -> bool:
        return self.link.up.is_set()

    @property
    def state(self) -> str:
        if self.status is not None and self.status.local_mode and self.up:
            return "local_mode"
        return self.link.state

    @property
    def last_error(self) -> str | None:
        return self.link.last_error

    # commands ------------------------------------------------------------------------------------------
    def open_gate(self, relay: int = 1, ms: int = 0) -> CommandResult:
        """Pulse `relay` for `ms` (0: the controller's configured default)."""
        return self._command("open_gate", FrameType.CMD_RELAY, bytes([relay, 0]) + ms.to_bytes(2, "big"))

    def latch(self, relay: int, on: bool) -> CommandResult:
        return self._command("latch", FrameType.CMD_RELAY, bytes([relay, 1 if on else 2, 0, 0]))

    def buzz(self, pattern: str) -> CommandResult:
        return self._command("buzz", FrameType.CMD_BUZZER, bytes([BUZZER_PATTERNS[pattern]]))

    def led(self, colour: str, ms: int = 0) -> CommandResult:
        return self._command("led", FrameType.CMD_LED, bytes([LED_COLOURS[colour]]) + ms.to_bytes(2, "big"))

    def lockdown(self, on: bool) -> CommandResult:
        return self._command("lockdown", FrameType.CMD_LOCKDOWN, bytes([1 if on else 0]))

    def configure(self, host_timeout_s: int, door_held_s: int, pulse_ms: int) -> CommandResult:
        payload = bytes([host_timeout_s, door_held_s]) + pulse_ms.to_bytes(2, "big")
        return self._command("configure", FrameType.CMD_CONFIG, payload)

    def _command(self, name: str, frame_type: int, payload: bytes) -> CommandResult:
        if not self.up:
            pending = Pending(frame_type, payload)
            result = CommandResult(name, pending)
            result._finish("link_down")
            return result
        pending = self.link.send(frame_type, payload, ttl_s=self.command_ttl_s)
        result = CommandResult(name, pending)
        with self._lock:
            self._results[id(pending)] = result
        return result

    # link thread ---------------------------------------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:
        now = time.monotonic()
        p = frame.payload
        if frame.type == FrameType.RESULT and len(p) >= 2:
            self._finish_result(p[0], RESULT_NAMES.get(p[1], f"status_{p[1]}"))
        elif frame.type == FrameType.EVENT_CARD and len(p) >= 3:
            self.cards_read += 1
            self._emit(CardEvent(self.name, p[0], p[2], card_uid(p[3:]), now))
        elif frame.type == FrameType.EVENT_INPUT and len(p) >= 2:
            self._emit(InputEvent(self.name, INPUT_NAMES.get(p[0], f"input_{p[0]}"), bool(p[1]), now))
        elif frame.type == FrameType.EVENT_ALARM and len(p) >= 1:
            detail = int.from_bytes(p[1:3], "big") if len(p) >= 3 else 0
            self._emit(AlarmEvent(self.name, ALARM_NAMES.get(p[0], f"alarm_{p[0]}"), detail, now))
        else:
            log.warning("controller %s: unexpected frame 0x%02x %s", self.name, frame.type, p.hex())
        self._expire_results()

    def _on_heartbeat(self, payload: bytes) -> None:
        self.status = ControllerStatus.parse(payload)
        self._expire_results()

    def _finish_result(self, seq: int, status: str) -> None:
        with self._lock:
            match = next((k for k, r in self._results.items() if r.pending.seq == seq), None)
            result = self._results.pop(match) if match is not None else None
        if result is not None:
            result._finish(status)

    def _expire_results(self) -> None:
        """Commands the link gave up on (expired, no ACK, link lost) finish with that reason; one whose RESULT
        has not come `command_ttl_s` + 2 s after it was made finishes as "timeout"."""
        now = time.monotonic()
        finished = []
        with self._lock:
            for key, result in list(self._results.items()):
                pending = result.pending
                if pending.done.is_set() and pending.error is not None:
                    status = "expired" if pending.error == "expired" else "link_down"
                elif now - result.created_at > self.command_ttl_s + 2.0:
                    status = "timeout"
                else:
                    continue
                del self._results[key]
                finished.append((result, status))
        for result, status in finished:
            result._finish(status)

    def _on_link(self, up: bool) -> None:
        if up and self.link.peer_version:
            major, minor, patch = self.link.peer_version
            detail = f"firmware {major}.{minor}.{patch}, capabilities 0x{self.link.capabilities:04x}"
        else:
            detail = self.last_error or ""
        if not up:
            self._expire_results()
        self._emit(LinkEvent(self.name, up, detail))

    def _emit(self, event: ControllerEvent) -> None:
        try:
            self.on_event(event)
        except Exception:
            log.exception("controller %s: event handler failed for %s", self.name, event)
