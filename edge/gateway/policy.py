"""From an observation (a card read, a recognised or unrecognised face) to a decision, with debounce.

    card in the roster            -> granted  (person_id from the roster)
    card not in the roster        -> denied   (person_id null)
    face within tolerance         -> granted
    face matching nobody          -> unknown  (person_id null)

Debounce: one check-in per person per `debounce_s`, across methods and gates of this gateway; one denied
event per unknown card and one unknown-face event per gate per `unknown_debounce_s`. Times are monotonic, so
a wall clock stepping backwards does not reopen or extend a window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from edge.events.checkin import Decision, Method
from edge.roster import Person


@dataclass(frozen=True)
class GateInfo:
    gate_id: str
    direction: Literal["in", "out"]
    mode: Literal["card", "face", "card_or_face"]


@dataclass(frozen=True)
class Observation:
    gate: GateInfo
    device_id: str
    method: Literal["card", "face"]
    at_monotonic: float
    card_uid: str | None = None
    person_id: str | None = None
    distance: float | None = None


@dataclass(frozen=True)
class Verdict:
    gate: GateInfo
    device_id: str
    method: Method
    decision: Decision
    person_id: str | None
    card_uid: str | None = None
    distance: float | None = None


class RosterLookup(Protocol):
    def by_card(self, uid: str) -> Person | None: ...


class Debouncer:
    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._last: dict[object, float] = {}

    def admit(self, key: object, now: float | None = None) -> bool:
        t = self._clock() if now is None else now
        last = self._last.get(key)
        if last is not None and 0 <= t - last < self.window_s:
            return False
        self._last[key] = t
        if len(self._last) > 10_000:  # forget windows long closed
            self._last = {k: v for k, v in self._last.items() if t - v < self.window_s}
        return True


class Policy:
    def __init__(
        self,
        roster: RosterLookup,
        *,
        debounce_s: float,
        unknown_debounce_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.roster = roster
        self._people = Debouncer(debounce_s, clock)
        self._unknown = Debouncer(unknown_debounce_s, clock)

    def decide(self, obs: Observation) -> Verdict | None:
        """The verdict for an observation, or None when the gate's mode ignores it or debounce suppresses it."""
        if obs.method == "card" and obs.gate.mode == "face":
            return None
        if obs.method == "face" and obs.gate.mode == "card":
            return None
        if obs.method == "card":
            assert obs.card_uid is not None
            person = self.roster.by_card(obs.card_uid)
            if person is None:
                if not self._unknown.admit(("card", obs.card_uid), obs.at_monotonic):
                    return None
                return Verdict(obs.gate, obs.device_id, "card", "denied", None, card_uid=obs.card_uid)
            if not self._people.admit(person.person_id, obs.at_monotonic):
                return None
            return Verdict(obs.gate, obs.device_id, "card", "granted", person.person_id, card_uid=obs.card_uid)
        if obs.person_id is None:
            if not self._unknown.admit(("face", obs.gate.gate_id), obs.at_monotonic):
                return None
            return Verdict(obs.gate, obs.device_id, "face", "unknown", None)
        if not self._people.admit(obs.person_id, obs.at_monotonic):
            return None
        return Verdict(obs.gate, obs.device_id, "face", "granted", obs.person_id, distance=obs.distance)
