"""From an observation (a card read, a recognised or unrecognised face) to a decision, with debounce.

    card in the roster            -> granted  (person_id from the roster)
    card not in the roster        -> denied   (person_id null)
    face accepted by the core     -> granted  (one decision per track, open-set rule)
    face matching nobody          -> unknown  (person_id null)

card_and_face gates: a roster card opens a window (`card_face_window_s`) on that gate; a face whose
encodings verify 1:1 against the card holder's templates (distance <= verify_threshold) grants
"card+face"; when the window closes without one, "card+face" is denied. An unknown card is denied at once;
faces with no open window are ignored there.

Debounce: one check-in per person per `debounce_s`, across methods and gates of this gateway; one denied
event per unknown card and one unknown-face event per gate per `unknown_debounce_s`. Times are monotonic, so
a wall clock stepping backwards does not reopen or extend a window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from edge.contract.checkin import Decision, Method
from edge.roster import Person


@dataclass(frozen=True)
class GateInfo:
    gate_id: str
    direction: Literal["in", "out"]
    mode: Literal["card", "face", "card_or_face", "card_and_face"]


@dataclass(frozen=True)
class Observation:
    gate: GateInfo
    device_id: str
    method: Literal["card", "face"]
    at_monotonic: float
    card_uid: str | None = None
    person_id: str | None = None
    distance: float | None = None
    encodings: npt.NDArray[np.float32] | None = None
    """A face track's encodings (k, 128), for 1:1 verification on card_and_face gates."""


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


Verifier = Callable[[str, npt.NDArray[np.float32]], float | None]
"""(person_id, encodings) -> fused distance to that person's templates, None when not enrolled."""


@dataclass(frozen=True)
class _Claim:
    person_id: str
    card_uid: str
    device_id: str
    gate: GateInfo
    until: float


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
        card_face_window_s: float = 5.0,
        verify_threshold: float = 0.45,
        verifier: Verifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.roster = roster
        self._people = Debouncer(debounce_s, clock)
        self._unknown = Debouncer(unknown_debounce_s, clock)
        self.card_face_window_s = card_face_window_s
        self.verify_threshold = verify_threshold
        self.verifier = verifier
        self._claims: dict[str, _Claim] = {}

    def decide(self, obs: Observation) -> Verdict | None:
        """The verdict for an observation, or None when the gate's mode ignores it or debounce suppresses it."""
        if obs.gate.mode == "card_and_face":
            return self._card_and_face(obs)
        if obs.method == "card" and obs.gate.mode == "face":
            return None
        if obs.method == "face" and obs.gate.mode == "card":
            return None
        if obs.method == "card":
            assert obs.card_uid is not None
            person = self.roster.by_card(obs.card_uid)
            if person is None:
                return self._unknown_card(obs, "card")
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

    def _unknown_card(self, obs: Observation, method: Method) -> Verdict | None:
        """A card not in the roster: denied, once per card per unknown_debounce_s."""
        assert obs.card_uid is not None
        if not self._unknown.admit(("card", obs.card_uid), obs.at_monotonic):
            return None
        return Verdict(obs.gate, obs.device_id, method, "denied", None, card_uid=obs.card_uid)

    # card_and_face -------------------------------------------------------------------------------------
    def _card_and_face(self, obs: Observation) -> Verdict | None:
        gate = obs.gate
        if obs.method == "card":
            assert obs.card_uid is not None
            person = self.roster.by_card(obs.card_uid)
            if person is None:
                return self._unknown_card(obs, "card+face")
            until = obs.at_monotonic + self.card_face_window_s
            self._claims[gate.gate_id] = _Claim(person.person_id, obs.card_uid, obs.device_id, gate, until)
            return None
        claim = self._claims.get(gate.gate_id)
        if claim is None or obs.at_monotonic > claim.until or obs.encodings is None or self.verifier is None:
            return None
        distance = self.verifier(claim.person_id, obs.encodings)
        if distance is None or distance > self.verify_threshold:
            return None  # perhaps a bystander's face: the holder's may still come before the window closes
        del self._claims[gate.gate_id]
        if not self._people.admit(claim.person_id, obs.at_monotonic):
            return None
        return Verdict(
            gate, obs.device_id, "card+face", "granted", claim.person_id, card_uid=claim.card_uid, distance=distance
        )

    def expire(self, now: float) -> list[Verdict]:
        """card_and_face windows that closed without a matching face: each one is a denied check-in."""
        out = []
        for gate_id, claim in list(self._claims.items()):
            if now > claim.until:
                del self._claims[gate_id]
                out.append(Verdict(claim.gate, claim.device_id, "card+face", "denied", None, card_uid=claim.card_uid))
        return out
