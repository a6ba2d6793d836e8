"""The demo's gate hardware: two lanes, their card readers, the main gate's controller, the side gate's camera.

- main gate (`main-in`, card or face): the bundled video as its camera, a simulated RDM6300 reader, and the gate
  controller — the real firmware running in simavr when the AVR toolchain is installed (`scripts/bootstrap.sh
  --dev`), else the link-protocol simulator (the same frames on the same socket, no MCU). The guard's "open gate"
  from the web app must reach it: `opened_since(mark)` tells whether its relay was driven after `mark`.
- side gate (`side-in`, card AND face): a second reader, and a camera clip made from a photo of the card holder
  (not their enrolment photo): a few blank seconds, then the face — the tap comes first, the face must then match
  the card's holder within the window (edge/gateway/policy.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from firmware_bridge.link.frames import FrameType
from firmware_bridge.simulators.avr_sim import AvrGateSim, SimError, build
from firmware_bridge.simulators.controller_sim import ControllerSim
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator

RELAY_PIN = "B0"
CLIP_FPS = 10


def side_gate_clip(photo: Path, dest: Path, blank_s: float = 4.0, face_s: float = 6.0) -> Path:
    """A real video file: `blank_s` of an empty grey frame, then the photo, at CLIP_FPS."""
    img = cv2.imread(str(photo))
    if img is None:
        raise FileNotFoundError(f"cannot read {photo}")
    h, w = img.shape[:2]
    h, w = h - h % 2, w - w % 2
    img = img[:h, :w]
    writer = cv2.VideoWriter(str(dest), cv2.VideoWriter.fourcc(*"mp4v"), CLIP_FPS, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {dest}")
    try:
        blank = np.full_like(img, 128)
        for _ in range(int(blank_s * CLIP_FPS)):
            writer.write(blank)
        for _ in range(int(face_s * CLIP_FPS)):
            writer.write(img)
    finally:
        writer.release()
    return dest


class GateController:
    """The main gate's controller, whichever is available; one interface for the demo."""

    def __init__(self, work: Path) -> None:
        self._avr: AvrGateSim | None = None
        self._sim: ControllerSim | None = None
        try:
            elf, harness = build(work / "firmware")
            self._avr = AvrGateSim(elf, harness, port_link=work / "gate-tty")
            self.kind = "ATmega328P firmware in simavr"
        except (SimError, OSError) as exc:
            self._sim = ControllerSim().__enter__()
            self.kind = f"link-protocol simulator ({str(exc).splitlines()[0]})"

    @property
    def port(self) -> str:
        if self._avr is not None:
            return self._avr.port
        assert self._sim is not None
        return self._sim.url

    def mark(self) -> int:
        """A point in the controller's history; `opened_since` looks after it."""
        if self._avr is not None:
            return self._avr.sim_time_us()
        assert self._sim is not None
        return len(self._sim.commands)

    def opened_since(self, mark: int, timeout: float) -> bool:
        """Did the relay (or the relay command) come after `mark`, within `timeout` seconds?"""
        if self._avr is not None:
            try:
                self._avr.wait_pin(RELAY_PIN, 1, timeout, after_us=mark)
                return True
            except (TimeoutError, SimError):
                return False
        sim = self._sim
        assert sim is not None
        sim.command_seen.clear()
        if any(f.type == FrameType.CMD_RELAY for f in sim.commands[mark:]):
            return True
        while sim.command_seen.wait(timeout):
            sim.command_seen.clear()
            if any(f.type == FrameType.CMD_RELAY for f in sim.commands[mark:]):
                return True
        return False

    def close(self) -> None:
        if self._avr is not None:
            self._avr.close()
        if self._sim is not None:
            self._sim.__exit__(None, None, None)


@dataclass
class GateRig:
    controller: GateController
    main_reader: Rdm6300Simulator
    side_reader: Rdm6300Simulator
    side_clip: Path

    def close(self) -> None:
        for r in (self.main_reader, self.side_reader):
            r.stop()
        self.controller.close()


def start_rig(work: Path, data: Path) -> GateRig:
    controller = GateController(work)
    main, side = Rdm6300Simulator(), Rdm6300Simulator()
    main.start()
    side.start()
    clip = side_gate_clip(data / "side_gate.jpg", work / "side_gate.mp4")
    return GateRig(controller, main, side, clip)
