"""The real firmware image running in simavr (firmware/sim/gate_sim.c), driven from Python.

    with AvrGateSim.start() as sim:            # builds the image and the harness with make if needed
        port = sim.port                         # open it with pyserial like the controller's real UART
        sim.wiegand("A", encode(b"\\x7b\\x30\\x39"))
        sim.wait_pin("B0", 1, timeout=2)        # the relay

Output pins of port B are reported as they change, with the simulated time in microseconds (the simulation
is paced to the wall clock). Needs gcc-avr, avr-libc, simavr, libsimavr-dev, libelf-dev (scripts/bootstrap.sh
--dev installs them).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

FIRMWARE_DIR = Path(__file__).resolve().parents[1] / "firmware"
PINS = {"relay1": "B0", "relay2": "B1", "buzzer": "B2", "led_red": "B3", "led_green": "B4", "led_blue": "B5"}
INPUTS = {"door": "D4", "exit_button": "D5", "tamper": "D6"}
"""Input pins (firmware/src/board.h): door and tamper are high when asserted, the exit button low."""


class SimError(RuntimeError):
    pass


@dataclass(frozen=True)
class PinChange:
    pin: str
    level: int
    sim_us: int
    wall: float


def build(build_dir: Path | None = None) -> tuple[Path, Path]:
    """`make all sim` in firmware/: returns (gate.elf, gate_sim)."""
    missing = [tool for tool in ("make", "avr-gcc", "cc") if shutil.which(tool) is None]
    if missing:
        raise SimError(f"missing {', '.join(missing)}: run scripts/bootstrap.sh --dev (installs the AVR toolchain)")
    out = build_dir or FIRMWARE_DIR / "build"
    proc = subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE_DIR), f"BUILD={out}", "all", "sim"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SimError(f"firmware build failed:\n{proc.stdout}\n{proc.stderr}")
    return out / "gate.elf", out / "gate_sim"


class AvrGateSim:
    def __init__(self, elf: Path, harness: Path, port_link: Path | None = None) -> None:
        self.port_link = port_link
        """When given, a symlink kept pointing at the current pty: a stable port name across unplug/replug, as
        a udev rule gives a USB adapter (/dev/serial/by-id/...)."""
        self._proc = subprocess.Popen(
            [str(harness), str(elf)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._replies: queue.Queue[str] = queue.Queue()
        self._changes: list[PinChange] = []
        self._cond = threading.Condition()
        self.wiegand_done: queue.Queue[tuple[str, int, float]] = queue.Queue()
        self.watchdog_resets: queue.Queue[int] = queue.Queue()
        self.serial_done: queue.Queue[int] = queue.Queue()
        self.pty = ""
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="avr-sim-stdout", daemon=True)
        self._reader.start()
        if not self._ready.wait(10):
            self.close()
            raise SimError("gate_sim did not start")

    @classmethod
    def start(cls, build_dir: Path | None = None, port_link: Path | None = None) -> AvrGateSim:
        elf, harness = build(build_dir)
        return cls(elf, harness, port_link)

    @property
    def port(self) -> str:
        """The port to open: the stable link when there is one, else the pty itself."""
        return str(self.port_link) if self.port_link else self.pty

    def _relink(self) -> None:
        if self.port_link is None:
            return
        tmp = self.port_link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.pty)
        tmp.replace(self.port_link)

    # harness output ------------------------------------------------------------------------------------
    def _read(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.strip()
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "pin" and len(parts) == 4:
                change = PinChange(parts[1], int(parts[2]), int(parts[3]), time.monotonic())
                with self._cond:
                    self._changes.append(change)
                    self._cond.notify_all()
            elif parts[0] == "pty":
                self.pty = parts[1]
                self._relink()
                if self._ready.is_set():
                    self._replies.put(line)
            elif parts[0] == "ready":
                self._ready.set()
            elif parts[0] == "wiegand-done" and len(parts) == 4:
                last_bit_us, now_us = int(parts[2]), int(parts[3])
                # the simulation is paced to the wall clock: the last bit was (now - last) us ago
                self.wiegand_done.put((parts[1], last_bit_us, time.monotonic() - (now_us - last_bit_us) / 1e6))
            elif parts[0] == "serial-done" and len(parts) == 2:
                self.serial_done.put(int(parts[1]))
            elif parts[0] == "watchdog-reset" and len(parts) == 2:
                self.watchdog_resets.put(int(parts[1]))
            elif parts[0] in ("ok", "error", "time", "stack", "bye", "crashed"):
                self._replies.put(line)
            else:
                log.debug("gate_sim: %s", line)

    def _command(self, line: str, timeout: float = 5.0) -> str:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise SimError(f"gate_sim did not answer {line!r}") from None
        if reply.startswith(("error", "crashed")):
            raise SimError(reply)
        return reply

    # inputs --------------------------------------------------------------------------------------------
    def wiegand(self, reader: str, bits: str, interval_us: int = 1000) -> tuple[int, float]:
        """Send a frame on reader A or B (DATA0/DATA1 pulses of 50 us, one every `interval_us`) and wait until it
        is out and the line has been idle for the inter-frame gap (50 ms): returns (simulated us,
        time.monotonic()) of the frame's last bit."""
        self._command(f"wiegand {reader} {bits} {interval_us}")
        timeout = 2 + len(bits) * interval_us / 1e6 * 2
        try:
            done_reader, sim_us, wall = self.wiegand_done.get(timeout=timeout)
        except queue.Empty:
            raise SimError(f"the Wiegand frame on {reader} did not finish within {timeout:.1f}s") from None
        assert done_reader == reader
        return sim_us, wall

    def serial(self, data: bytes, baud: int = 9600) -> int:
        """Send bytes as 8N1 on PD7 (the RDM6300 input) and wait until they are out; returns the simulated us."""
        self._command(f"serial {data.hex()} {baud}")
        try:
            return self.serial_done.get(timeout=2 + len(data) * 10 / baud * 2)
        except queue.Empty:
            raise SimError("the serial bytes did not finish") from None

    def rdm6300(self, uid: str) -> int:
        """An EM4100 card (10 hex digits) presented to the RDM6300: its 14-byte frame, once."""
        from firmware_bridge.rdm6300 import encode_frame

        return self.serial(encode_frame(uid))

    def set_pin(self, pin: str, level: int) -> None:
        self._command(f"pin {pin} {level}")

    def set_input(self, name: str, active: bool) -> None:
        """door open / exit button pressed / tamper loop opened (active) or back to normal."""
        pin = INPUTS[name]
        high = active if name != "exit_button" else not active
        self.set_pin(pin, 1 if high else 0)

    def reset(self) -> None:
        self._command("reset")

    def hang(self) -> None:
        """Make the firmware hang where it is (an endless loop patched in): only its watchdog gets it out."""
        self._command("hang")

    def wait_watchdog_reset(self, timeout: float) -> int:
        """Simulated time (us) of the reset that ended a hang()."""
        try:
            return self.watchdog_resets.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no watchdog reset within {timeout}s") from None

    def unplug(self) -> None:
        """Close the pty (the cable is pulled)."""
        self._command("unplug")
        if self.port_link is not None:
            self.port_link.unlink(missing_ok=True)

    def replug(self) -> str:
        """A new pty (its path changes, as a USB adapter's may); returns it."""
        self._command("replug")
        return self.pty

    def max_stack_bytes(self) -> int:
        """The deepest the firmware's stack has been so far (bytes below RAMEND)."""
        return int(self._command("stack").split()[1])

    def sim_time_us(self) -> int:
        return int(self._command("time").split()[1])

    # outputs -------------------------------------------------------------------------------------------
    def changes(self, pin: str | None = None) -> list[PinChange]:
        with self._cond:
            return [c for c in self._changes if pin is None or c.pin == pin]

    def level(self, pin: str) -> int:
        changes = self.changes(pin)
        return changes[-1].level if changes else 0

    def wait_pin(self, pin: str, level: int, timeout: float, after_us: int = -1) -> PinChange:
        """The first change of `pin` to `level` later than `after_us` (simulated time)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for c in self._changes:
                    if c.pin == pin and c.level == level and c.sim_us > after_us:
                        return c
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"pin {pin} did not go to {level} within {timeout}s")
                self._cond.wait(left)

    # lifecycle -----------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(SimError, OSError, ValueError):
                self._command("quit", timeout=2)
            try:
                self._proc.wait(3)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(3)
        if self._proc.stdin:
            self._proc.stdin.close()

    def __enter__(self) -> AvrGateSim:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
