"""The tracker on synthetic detections: identities kept across frames, fast moves, loss, two faces at once."""

from __future__ import annotations

from edge.recognition.encoder import Detection
from edge.recognition.tracker import Tracker, iou


def box(x: int, y: int, w: int = 80) -> Detection:
    return Detection((x, y, x + w, y + w), 1.0)


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9


def test_one_face_walking_keeps_its_track() -> None:
    t = Tracker()
    ids = set()
    for i in range(30):
        up = t.update(i, [box(100 + 6 * i, 100, 80 + i)])
        ids |= {tr.id for tr, _ in up.matched}
    assert ids == {1} and list(t.tracks) == [1] and t.tracks[1].hits == 30


def test_fast_move_matched_by_centre_distance_and_velocity() -> None:
    t = Tracker()
    for i in range(5):
        t.update(i, [box(40 * i, 100)])  # 40 px per frame: half a face width, low IoU
    assert list(t.tracks) == [1]
    up = t.update(7, [box(280, 100)])  # two frames missed, prediction carries it on
    assert [tr.id for tr, _ in up.matched] == [1] and not up.started


def test_two_faces_stay_apart_and_a_lost_face_ends_its_track() -> None:
    t = Tracker(max_missed=3)
    for i in range(10):
        t.update(i, [box(50 + 2 * i, 100), box(400 - 2 * i, 120)])
    assert sorted(t.tracks) == [1, 2]
    lost = []
    for i in range(10, 15):
        lost += t.update(i, [box(70 + 2 * (i - 10), 100)]).lost
    assert [tr.id for tr in lost] == [2] and list(t.tracks) == [1]
    up = t.update(15, [box(400, 300)])  # someone new far away: a new track
    assert [tr.id for tr in up.started] == [3]
    assert sorted(tr.id for tr in t.flush()) == [1, 3] and not t.tracks
