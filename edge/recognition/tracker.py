"""A small multi-face tracker: associates detections across frames so the core decides once per pass.

Association is greedy on IoU between each track's predicted box (constant velocity) and the detections,
falling back to centre distance for fast movement; a track unseen for `max_missed` frames is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.recognition.encoder import Box, Detection


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _centre(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0


@dataclass
class Track:
    id: int
    box: Box
    first_frame: int
    last_frame: int
    hits: int = 1
    velocity: tuple[float, float] = (0.0, 0.0)

    def predict(self, frame_index: int) -> Box:
        dt = frame_index - self.last_frame
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        left, top, right, bottom = self.box
        return (round(left + dx), round(top + dy), round(right + dx), round(bottom + dy))

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


@dataclass
class TrackUpdate:
    matched: list[tuple[Track, Detection]]
    started: list[Track]
    lost: list[Track]


class Tracker:
    def __init__(self, *, min_iou: float = 0.2, max_centre_shift: float = 0.6, max_missed: int = 10) -> None:
        self.min_iou = min_iou
        self.max_centre_shift = max_centre_shift
        """Fallback: a detection whose centre is within this many face widths of the prediction."""
        self.max_missed = max_missed
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    def update(self, frame_index: int, detections: list[Detection]) -> TrackUpdate:
        pairs: list[tuple[float, int, int]] = []
        predicted = {tid: t.predict(frame_index) for tid, t in self.tracks.items()}
        for tid, pbox in predicted.items():
            pcx, pcy = _centre(pbox)
            width = max(1, pbox[2] - pbox[0])
            for j, det in enumerate(detections):
                score = iou(pbox, det.box)
                if score < self.min_iou:
                    cx, cy = _centre(det.box)
                    shift = ((cx - pcx) ** 2 + (cy - pcy) ** 2) ** 0.5 / width
                    if shift > self.max_centre_shift:
                        continue
                    score = 0.01 * (1.0 - shift / self.max_centre_shift)  # below any IoU match
                pairs.append((score, tid, j))
        pairs.sort(reverse=True)
        used_t: set[int] = set()
        used_d: set[int] = set()
        matched: list[tuple[Track, Detection]] = []
        for _, tid, j in pairs:
            if tid in used_t or j in used_d:
                continue
            used_t.add(tid)
            used_d.add(j)
            track, det = self.tracks[tid], detections[j]
            self._move(track, det.box, frame_index)
            matched.append((track, det))
        started = []
        for j, det in enumerate(detections):
            if j not in used_d:
                track = Track(self._next_id, det.box, frame_index, frame_index)
                self._next_id += 1
                self.tracks[track.id] = track
                started.append(track)
                matched.append((track, det))
        lost = [t for t in self.tracks.values() if frame_index - t.last_frame > self.max_missed]
        for t in lost:
            del self.tracks[t.id]
        return TrackUpdate(matched, started, lost)

    def flush(self) -> list[Track]:
        """End of stream: every remaining track is lost."""
        lost = list(self.tracks.values())
        self.tracks.clear()
        return lost

    @staticmethod
    def _move(track: Track, box: Box, frame_index: int) -> None:
        dt = max(1, frame_index - track.last_frame)
        (ocx, ocy), (ncx, ncy) = _centre(track.box), _centre(box)
        vx, vy = (ncx - ocx) / dt, (ncy - ocy) / dt
        track.velocity = (0.5 * track.velocity[0] + 0.5 * vx, 0.5 * track.velocity[1] + 0.5 * vy)
        track.box = box
        track.last_frame = frame_index
        track.hits += 1
