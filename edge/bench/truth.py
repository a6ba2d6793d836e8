"""Ground truth of a test video (`*.truth.json`) and scoring of decisions against it.

A decision belongs to the pass whose [start_frame, end_frame] holds the frame where its face first became
eligible. Per pass: correct (enrolled, decided as that person), wrong person, stranger admitted, decided
twice, missed (no granted decision for an enrolled person).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Pass:
    person_id: str | None
    start_frame: int
    end_frame: int
    first_frame_ge_80px: int


@dataclass(frozen=True)
class Truth:
    fps: float
    frames: int
    passes: list[Pass]

    def pass_of(self, frame: int) -> int | None:
        for i, p in enumerate(self.passes):
            if p.start_frame <= frame <= p.end_frame:
                return i
        return None


def load_truth(path: str | Path) -> Truth:
    data = json.loads(Path(path).read_text())
    passes = [
        Pass(p["person_id"], int(p["start_frame"]), int(p["end_frame"]), int(p["first_frame_face_ge_80px"]))
        for p in data["passes"]
    ]
    return Truth(float(data["fps"]), int(data["frames"]), passes)


@dataclass
class Score:
    enrolled_passes: int = 0
    stranger_passes: int = 0
    correct: int = 0
    wrong_person: int = 0
    strangers_admitted: int = 0
    decided_twice: int = 0
    missed: int = 0
    outside_passes: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "details"}


def score(truth: Truth, decisions: list[tuple[int, str | None]]) -> Score:
    """`decisions`: (frame the face became eligible, person_id or None) in decision order."""
    per_pass: dict[int, list[str | None]] = {}
    s = Score()
    for frame, person in decisions:
        i = truth.pass_of(frame)
        if i is None:
            s.outside_passes += 1
            continue
        per_pass.setdefault(i, []).append(person)
    for i, p in enumerate(truth.passes):
        got = per_pass.get(i, [])
        if p.person_id is None:
            s.stranger_passes += 1
            s.strangers_admitted += any(g is not None for g in got)
        else:
            s.enrolled_passes += 1
            granted = [g for g in got if g is not None]
            if any(g != p.person_id for g in granted):
                s.wrong_person += 1
            elif granted:
                s.correct += 1
            else:
                s.missed += 1
        s.decided_twice += len(got) > 1
        s.details.append({"pass": i, "truth": p.person_id, "decisions": got})
    return s
