"""card_and_face gates: a tap opens a window in which the face must verify 1:1 against the card holder."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from edge.contract.topics import GatewayTopics
from edge.gateway.policy import GateInfo, Observation, Policy
from edge.gateway.recorder import CheckinRecorder
from edge.outbox import Outbox
from edge.recognition.gallery import Gallery, Template
from edge.roster import Person

GATE = GateInfo("main-in", "in", "card_and_face")
ANN_CARD, BOB_CARD = "0A0B0C0D0E", "1A1B1C1D1E"


class Roster:
    people: ClassVar[dict[str, Person]] = {
        ANN_CARD: Person("ann", "Ann", "1A", ANN_CARD),
        BOB_CARD: Person("bob", "Bob", "1A", BOB_CARD),
    }

    def by_card(self, uid: str) -> Person | None:
        return self.people.get(uid)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[CheckinRecorder, dict[str, np.ndarray], Outbox]:
    rng = np.random.default_rng(5)
    faces = {p: (rng.normal(size=128) * 0.09).astype(np.float32) for p in ("ann", "bob", "eve")}
    gallery = Gallery()
    for p in ("ann", "bob"):
        gallery.set_person(p, [Template(p, f"{p}/1.jpg", p, faces[p])])
    policy = Policy(
        Roster(),
        debounce_s=60,
        unknown_debounce_s=10,
        card_face_window_s=5,
        verify_threshold=0.45,
        verifier=gallery.verify,
    )
    outbox = Outbox(tmp_path / "gw.sqlite")
    # dlib-scale vectors (not unit length): the score is a distance, and the event says so
    recorder = CheckinRecorder(policy, outbox, GatewayTopics("edge/v1", "school", "gw"), face_model="dlib")
    return recorder, faces, outbox


def card(uid: str, t: float) -> Observation:
    return Observation(GATE, "reader-1", "card", t, card_uid=uid)


def face(enc: np.ndarray, t: float, person: str | None = None) -> Observation:
    return Observation(GATE, "cam-1", "face", t, person_id=person, encodings=(enc + 0.001)[None, :].astype(np.float32))


def test_card_then_matching_face_grants_card_plus_face(
    setup: tuple[CheckinRecorder, dict[str, np.ndarray], Outbox],
) -> None:
    recorder, faces, _ = setup
    assert recorder.submit(card(ANN_CARD, 100.0)) is None  # the window opens, nothing recorded yet
    assert recorder.submit(face(faces["eve"], 101.0)) is None  # a bystander's face does not close it
    event = recorder.submit(face(faces["ann"], 102.0, person="ann"))
    assert event is not None
    assert (event.method, event.decision, event.person_id, event.card_uid) == ("card+face", "granted", "ann", ANN_CARD)
    assert event.distance is not None and event.distance < 0.45 and event.similarity is None
    assert recorder.expire(200.0) == []  # the window was consumed


def test_someone_else_holding_the_card_is_denied_when_the_window_closes(
    setup: tuple[CheckinRecorder, dict[str, np.ndarray], Outbox],
) -> None:
    recorder, faces, outbox = setup
    recorder.submit(card(ANN_CARD, 100.0))
    assert recorder.submit(face(faces["bob"], 101.0, person="bob")) is None  # bob's face with ann's card
    assert recorder.expire(104.0) == []  # still open
    [event] = recorder.expire(105.5)
    assert (event.method, event.decision, event.person_id, event.card_uid) == ("card+face", "denied", None, ANN_CARD)
    assert outbox.depth() == 1


def test_unknown_card_is_denied_at_once_and_face_alone_does_nothing(
    setup: tuple[CheckinRecorder, dict[str, np.ndarray], Outbox],
) -> None:
    recorder, faces, _ = setup
    assert recorder.submit(face(faces["ann"], 99.0, person="ann")) is None  # no card: face alone is not enough
    event = recorder.submit(card("DEADBEEF00", 100.0))
    assert event is not None and (event.method, event.decision, event.card_uid) == ("card+face", "denied", "DEADBEEF00")
    assert recorder.submit(face(faces["ann"], 101.0, person="ann")) is None


def test_face_after_the_window_does_not_grant(setup: tuple[CheckinRecorder, dict[str, np.ndarray], Outbox]) -> None:
    recorder, faces, _ = setup
    recorder.submit(card(BOB_CARD, 100.0))
    assert recorder.submit(face(faces["bob"], 106.0, person="bob")) is None
    [event] = recorder.expire(106.0)
    assert event.decision == "denied"
