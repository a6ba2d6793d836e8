"""The school morning the demo plays, and what must be true at the end of it.

The script (seconds after the gateway is online):
- main gate: the video brings a stranger and a student recognised by face; a student taps a card; an unknown
  card is refused; another student taps a card;
- side gate (card AND face): a student taps and then shows their face;
- the guard opens the main gate from the web app (a signed command; its result shown);
- 7B's cut-off has passed: its two students' parents are told they have not arrived; one of them then arrives
  (late) and both her parents are told so.

`Expectations.check` lists every way the morning went wrong; the demo exits 0 only when the list is empty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from edge.central.attendance.rule import Status
from edge.demo.notices import Delivery

MAIN_TAPS = ((0.5, "0F00D4E5F6"), (1.5, "DEADBEEF00"), (2.5, "1A2B3C4D5E"))
"""(seconds after the gateway is online, card) at the main gate: a student, an unknown card, a student."""
SIDE_TAP = (0.3, "0F00A1B2C3")
"""The side gate's card holder taps, then shows their face (the clip's face appears after its blank seconds)."""
LATE_CARD = "62E3086CED"
UNKNOWN_CARD = "DEADBEEF00"

ARRIVALS = {
    "lin_manuel_miranda": "face",
    "joe_biden": "card",
    "alex_lacamoire": "card",
    "barack_obama": "card+face",
}
"""Class 6A's arrivals before the cut-off, and how each one is recognised."""
LATECOMER, ABSENTEE = "rose_leslie", "kit_harington"
STATUSES = {**dict.fromkeys(ARRIVALS, Status.PRESENT), LATECOMER: Status.LATE, ABSENTEE: Status.ABSENT}

NOTICES = {
    ("g-lin", "arrived", False),
    ("g-obama", "arrived", False),
    ("g-biden", "arrived", False),
    ("g-alex", "arrived", False),
    ("g-rose-1", "absent", False),
    ("g-rose-2", "absent", False),
    ("g-kit", "absent", False),
    ("g-rose-1", "arrived", True),
    ("g-rose-2", "arrived", True),
}
"""(guardian, kind, late) of every notice the morning must deliver, each exactly once."""


@dataclass
class Morning:
    """What the demo observed."""

    checkins: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By event_id, as published by the gateway."""
    stored: int = 0
    statuses: dict[str, Status] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    gate_result: dict[str, Any] | None = None
    relay_driven: bool = False
    exits: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What the demo writes to demo-summary.json: its observations, for people and for the demo's test."""
        return {
            "published": len(self.checkins),
            "stored": self.stored,
            "checkins": sorted(self.checkins.values(), key=lambda e: int(e["seq"])),
            "statuses": {p: str(s) for p, s in sorted(self.statuses.items())},
            "notices": [asdict(d) for d in self.deliveries],
            "gate_result": self.gate_result,
            "relay_driven": self.relay_driven,
            "exits": self.exits,
        }

    def granted(self) -> dict[str, str]:
        """person_id -> method of their granted check-in."""
        return {e["person_id"]: e["method"] for e in self.checkins.values() if e["decision"] == "granted"}

    def arrivals_done(self) -> bool:
        g = self.granted()
        return all(g.get(p) == m for p, m in ARRIVALS.items()) and self.unknown_card_refused()

    def unknown_card_refused(self) -> bool:
        return any(e.get("card_uid") == UNKNOWN_CARD and e["decision"] == "denied" for e in self.checkins.values())

    def strangers(self) -> list[dict[str, Any]]:
        return [e for e in self.checkins.values() if e["method"] == "face" and e["person_id"] is None]


def check(m: Morning) -> list[str]:
    """Every expectation that does not hold, in words (empty: the morning went as it must)."""
    problems: list[str] = []
    if m.stored != len(m.checkins):
        problems.append(f"published {len(m.checkins)} check-ins but the store holds {m.stored}")
    granted = m.granted()
    for person, method in {**ARRIVALS, LATECOMER: "card"}.items():
        if granted.get(person) != method:
            problems.append(f"{person}: expected a granted {method} check-in, got {granted.get(person)}")
    if ABSENTEE in granted:
        problems.append(f"{ABSENTEE} should be absent but was admitted")
    if not m.strangers():
        problems.append("the stranger at the camera produced no 'unknown' check-in")
    if any(e["decision"] == "granted" for e in m.strangers()):
        problems.append("a stranger was admitted")
    if not m.unknown_card_refused():
        problems.append(f"the unknown card {UNKNOWN_CARD} was not refused")
    for person, want in STATUSES.items():
        if m.statuses.get(person) != want:
            problems.append(f"{person}: status {m.statuses.get(person)}, expected {want}")
    got = Counter((d.guardian_id, d.kind, d.late) for d in m.deliveries)
    for key in NOTICES - set(got):
        problems.append(f"notice {key} never arrived")
    for key, n in got.items():
        if key not in NOTICES:
            problems.append(f"unexpected notice {key}")
        elif n > 1:
            problems.append(f"notice {key} arrived {n} times")
    if m.gate_result is None or not m.gate_result.get("ok"):
        problems.append(f"the guard's open_gate did not succeed: {m.gate_result}")
    if not m.relay_driven:
        problems.append("the guard's open_gate never reached the gate controller's relay")
    problems += [f"{name} exited with {rc}" for name, rc in m.exits.items() if rc != 0]
    return problems
