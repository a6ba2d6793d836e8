"""The recognition core: cheap work on every frame, expensive work rarely, one decision per track.

Per frame: the backend's detector (YuNet on a frame downscaled to `detect_max_width`, or dlib's HOG) on the
whole frame every `full_detect_every` frames and, in between, only in a window around each tracked face; the
tracker links detections into tracks; every detection of a face at least `min_face_px` wide gets 5 landmarks
and a quality score (size, sharpness, frontal). The backend (edge.recognition.backend) is the gallery's model.
Per track: the first good detection is encoded at once, then the best detection of each following
`encode_gap` frames, at most `max_encodings` times. After each encoding the track's encodings are fused
(distances averaged) and the open-set rule applied: a match needs `min_encodings` agreeing looks; "unknown"
is decided when the encodings are used up or the track ends. A granted track is followed until it leaves and
never decided again. A face that stays in view after "unknown" (someone standing at the gate, first seen at
a poor angle) gets a fresh round of looks every `recheck_after_frames`, at most `max_rounds` rounds; a round
reports only a grant (a second "unknown" for the same track is not a new decision). With `one_at_a_time`
the largest eligible face holds the lane until its track ends; only that track is looked at.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from edge.camera.base import Image
from edge.recognition.backend import FaceBackend, Landmarks, backend_for_model_id
from edge.recognition.decision import DecisionRule, Identification
from edge.recognition.encode_pool import EncodeBackend
from edge.recognition.encoder import Box, Detection, Encoding, to_rgb
from edge.recognition.gallery import Gallery
from edge.recognition.quality import face_quality
from edge.recognition.tracker import Track, Tracker, iou

if TYPE_CHECKING:
    from edge.config.model import RecognitionConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoreSettings:
    min_face_px: int | None = None
    """Narrower faces are tracked but not encoded; None: the backend's own (ModelDefaults.min_face_px)."""
    full_detect_every: int | None = None
    """Whole-frame detection every n-th frame; None: the backend's own (ModelDefaults.full_detect_every)."""
    roi_expand: float = 0.6
    """Between full detections, search each track's predicted box grown by this fraction on every side."""
    roi_face_px: int | None = 64
    """In those windows, a tracked face wider than this is searched on a copy scaled so it is this wide (detectors
    that allow it: YuNet); no face is ever searched below this size, so nothing >= 80 px is lost, and the window
    costs a fraction of full resolution."""
    detect_upsample: int = 0
    detect_max_width: int | None = 640
    """Detect on a copy of the frame at most this wide (backends that allow it: SFace's YuNet)."""
    one_at_a_time: bool = True
    """One lane, one person at a time: the largest eligible face takes the lane and keeps it until its track ends;
    only it is looked at and decided. Faces beside or behind it (bystanders in view, the next in the queue) are
    tracked and get the lane when it is free. YuNet finds the bystanders HOG missed, and two faces of similar
    size would otherwise take turns being 'largest' and both be decided."""
    min_encodings: int = 2
    """A match is accepted only once this many encodings of the track agree (fused); a single frame can
    look like someone else, two differently sized/lit frames rarely both do."""
    sharpest_looks: bool = True
    """Each look encoded is the sharpest of its window (quality.look_score, uncapped Laplacian variance); off: the
    older score, where every look above a fixed sharpness counted as equally sharp and the larger face won."""
    max_encodings: int = 3
    encode_gap: int = 3
    max_missed: int = 10
    early_reject: float = 0.1
    """With min_encodings looks fused farther than threshold + this from everyone, decide 'unknown' without
    waiting for the last look (a clear stranger); borderline faces get all max_encodings looks."""
    recheck_after_frames: int = 30
    max_rounds: int = 3

    @classmethod
    def from_config(cls, rc: RecognitionConfig) -> CoreSettings:
        """The settings config.yaml exposes; the rest keep their defaults."""
        return cls(
            min_face_px=rc.min_face_px,
            full_detect_every=rc.full_detect_every,
            detect_upsample=rc.detect_upsample,
            detect_max_width=rc.detect_max_width,
            one_at_a_time=rc.one_at_a_time,
            min_encodings=rc.min_encodings,
            max_encodings=rc.max_encodings,
            encode_gap=rc.encode_gap_frames,
        )


@dataclass(frozen=True)
class TrackDecision:
    track_id: int
    identification: Identification
    encodings: npt.NDArray[np.float32]
    """The track's encodings (k, 128): kept for 1:1 verification against a card holder."""
    first_frame: int
    eligible_frame: int
    """First frame where the face was at least min_face_px wide."""
    decided_frame: int
    decided_at: float
    """time.monotonic() when decided."""
    eligible_at: float
    look_sharpness: tuple[float, ...] = ()
    """Laplacian variance of each look encoded (blur measured per look; edge bench recognition reports it)."""

    @property
    def person_id(self) -> str | None:
        return self.identification.person_id


@dataclass
class _Candidate:
    score: float
    frame: int
    rgb: Image
    shape: Landmarks
    laplacian: float = 0.0


@dataclass
class _TrackState:
    track: Track
    first_frame: int = -1
    eligible_frame: int = -1
    eligible_at: float = 0.0
    encodings: list[Encoding] = field(default_factory=list)
    look_sharpness: list[float] = field(default_factory=list)
    submitted: int = 0
    pending: int = 0
    last_submit_tick: int = -(10**9)
    best: _Candidate | None = None
    decided: bool = False
    granted: bool = False
    decided_tick: int = -1
    rounds: int = 1
    lost: bool = False


@dataclass
class CoreStats:
    frames: int = 0
    full_detections: int = 0
    roi_detections: int = 0
    faces: int = 0
    encodings: int = 0
    encodings_skipped: int = 0
    tracks: int = 0
    decisions: int = 0


class RecognitionCore:
    """Not thread-safe: one core per camera, fed by one thread."""

    def __init__(
        self,
        gallery: Gallery,
        rule: DecisionRule,
        encoder: EncodeBackend,
        settings: CoreSettings | None = None,
        backend: FaceBackend | None = None,
    ) -> None:
        self.backend = backend or backend_for_model_id(gallery.model)
        defaults = self.backend.defaults
        self.min_face_px = settings.min_face_px if settings and settings.min_face_px else defaults.min_face_px
        self.full_detect_every = (
            settings.full_detect_every if settings and settings.full_detect_every else defaults.full_detect_every
        )
        self.gallery = gallery
        self.rule = rule
        self.encoder = encoder
        self.settings = settings or CoreSettings()
        self.tracker = Tracker(max_missed=self.settings.max_missed)
        self.stats = CoreStats()
        self._states: dict[int, _TrackState] = {}
        self._jobs: dict[int, int] = {}
        self._next_job = 1
        self._last_full = -(10**9)
        self._frame = -1
        self._lane: int | None = None

    # per frame ---------------------------------------------------------------------------------------
    def process(self, index: int, bgr: Image, now: float | None = None) -> list[TrackDecision]:
        """One frame. `index` is the source's frame number (reported); scheduling and tracking count the frames
        this core has processed, so a live camera dropping frames under load does not look like lost faces."""
        now = time.monotonic() if now is None else now
        self._frame = index
        self.stats.frames += 1
        tick = self.stats.frames
        rgb = to_rgb(bgr)
        update = self.tracker.update(tick, self._detect(tick, rgb))
        for track in update.started:
            self._states[track.id] = _TrackState(track, first_frame=index)
            self.stats.tracks += 1
        gray: Image | None = None
        lane = self._lane_holder(update.matched) if self.settings.one_at_a_time else None
        for track, det in update.matched:
            state = self._states[track.id]
            if lane is not None and track.id != lane:
                continue
            if state.decided and not self._recheck(state, tick):
                continue
            if det.width < self.min_face_px:
                continue
            if gray is None:
                gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            self._consider(state, tick, index, now, rgb, gray, det)
        decisions = self._collect(tick)
        for track in update.lost:
            decisions += self._on_lost(track, tick)
        return decisions

    def _lane_holder(self, matched: list[tuple[Track, Detection]]) -> int | None:
        """The track that has the lane: the current holder while its track lives, else the largest eligible face."""
        if self._lane is not None and self._lane not in self.tracker.tracks:
            self._lane = None
        if self._lane is None:
            eligible = [(det.width, t.id) for t, det in matched if det.width >= self.min_face_px]
            self._lane = max(eligible)[1] if eligible else None
        return self._lane

    def finish(self, timeout: float = 10.0) -> list[TrackDecision]:
        """End of stream: end every track, wait for outstanding encodings, decide what can be decided."""
        decisions: list[TrackDecision] = []
        for track in self.tracker.flush():
            decisions += self._on_lost(track, self.stats.frames)
        deadline = time.monotonic() + timeout
        while self.encoder.pending and time.monotonic() < deadline:
            decisions += self._collect(self.stats.frames, wait=0.2)
        return decisions

    def drain(self, wait: float = 0.0) -> list[TrackDecision]:
        """Collect finished encodings between frames (a live camera with nothing new to show)."""
        return self._collect(self.stats.frames, wait)

    # detection ---------------------------------------------------------------------------------------
    def _detect(self, tick: int, rgb: Image) -> list[Detection]:
        s = self.settings
        if not self.tracker.tracks or tick - self._last_full >= self.full_detect_every:
            self._last_full = tick
            self.stats.full_detections += 1
            found = self.backend.detect(rgb, upsample=s.detect_upsample, max_width=s.detect_max_width)
        else:
            found = []
            width = rgb.shape[1]
            for track in self.tracker.tracks.values():
                self.stats.roi_detections += 1
                box = track.predict(tick)
                roi = self._roi(box)
                max_width = s.detect_max_width
                if s.roi_face_px and box[2] - box[0] > s.roi_face_px:  # a big face needs no full resolution
                    max_width = min(max_width or width, int(width * s.roi_face_px / (box[2] - box[0])))
                for det in self.backend.detect(rgb, upsample=s.detect_upsample, roi=roi, max_width=max_width):
                    if all(iou(det.box, other.box) < 0.5 for other in found):
                        found.append(det)
        self.stats.faces += len(found)
        return found

    def _roi(self, box: Box) -> Box:
        grow_x = int((box[2] - box[0]) * self.settings.roi_expand)
        grow_y = int((box[3] - box[1]) * self.settings.roi_expand)
        return (box[0] - grow_x, box[1] - grow_y, box[2] + grow_x, box[3] + grow_y)

    # encoding schedule -------------------------------------------------------------------------------
    def _consider(
        self, state: _TrackState, tick: int, index: int, now: float, rgb: Image, gray: Image, det: Detection
    ) -> None:
        s = self.settings
        if state.eligible_frame < 0:
            state.eligible_frame, state.eligible_at = index, now
        if state.submitted >= s.max_encodings:
            return
        shape = self.backend.landmarks(rgb, det)
        q = face_quality(gray, det.box, shape.frontal)
        score = q.look_score if s.sharpest_looks else q.score
        if state.best is None or score >= state.best.score:
            state.best = _Candidate(score, index, rgb, shape, q.laplacian)
        if state.submitted == 0 or tick - state.last_submit_tick >= s.encode_gap:
            self._submit(state, tick)

    def _recheck(self, state: _TrackState, tick: int) -> bool:
        """Start a new round of looks at a face still in view after an 'unknown' decision."""
        s = self.settings
        if state.granted or state.rounds >= s.max_rounds or tick - state.decided_tick < s.recheck_after_frames:
            return False
        state.rounds += 1
        state.decided = False
        state.encodings, state.submitted, state.best = [], 0, None
        state.look_sharpness = []
        state.eligible_frame = -1
        return True

    def _submit(self, state: _TrackState, tick: int) -> None:
        best = state.best
        if best is None:
            return
        chip = self.backend.align(best.rgb, best.shape)
        job = self._next_job
        if not self.encoder.submit(job, chip):
            self.stats.encodings_skipped += 1
            return
        self._next_job += 1
        self._jobs[job] = state.track.id
        state.look_sharpness.append(best.laplacian)
        state.submitted += 1
        state.pending += 1
        state.last_submit_tick = tick
        state.best = None
        self.stats.encodings += 1

    # decisions ---------------------------------------------------------------------------------------
    def _collect(self, tick: int, wait: float = 0.0) -> list[TrackDecision]:
        decisions: list[TrackDecision] = []
        for job, encoding in self.encoder.poll(wait):
            tid = self._jobs.pop(job, None)
            state = self._states.get(tid) if tid is not None else None
            if state is None:
                continue
            state.pending -= 1
            state.encodings.append(encoding)
            decision = self._evaluate(state, tick)
            if decision:
                decisions.append(decision)
        # jobs that failed in a worker never come back: forget them so a lost track can still be decided
        for state in list(self._states.values()):
            if state.lost and state.pending == 0:
                decision = self._evaluate(state, tick, final=True)
                if decision:
                    decisions.append(decision)
                self._states.pop(state.track.id, None)
        return decisions

    def _on_lost(self, track: Track, tick: int) -> list[TrackDecision]:
        state = self._states.get(track.id)
        if state is None:
            return []
        state.lost = True
        if not state.decided and state.best is not None and state.submitted < self.settings.max_encodings:
            self._submit(state, tick)  # a last look at the best face seen since the previous encoding
        if state.pending == 0:
            self._states.pop(track.id, None)
            decision = self._evaluate(state, tick, final=True)
            return [decision] if decision else []
        return []

    def _evaluate(self, state: _TrackState, tick: int, final: bool = False) -> TrackDecision | None:
        if state.decided or not state.encodings:
            return None
        encodings = np.stack(state.encodings)
        ident = self.gallery.identify(encodings, self.rule)
        n = len(state.encodings)
        accepted = ident.person_id is not None and n >= min(self.settings.min_encodings, self.settings.max_encodings)
        clear_stranger = (
            n >= self.settings.min_encodings
            and ident.distance is not None
            and ident.distance > self.rule.threshold + self.settings.early_reject
        )
        done = accepted or clear_stranger or n >= self.settings.max_encodings
        if not (done or (final and state.pending == 0)):
            return None
        if ident.person_id is not None and not accepted:  # the track ended before a second look
            ident = replace(ident, person_id=None, reason="too few looks")
        state.decided = True
        state.granted = ident.person_id is not None
        state.decided_tick = tick
        state.best = None
        if state.rounds > 1 and not state.granted:
            return None  # a re-check that still finds nobody is not news: the track was already reported unknown
        self.stats.decisions += 1
        decision = TrackDecision(
            state.track.id,
            ident,
            encodings,
            state.first_frame,
            state.eligible_frame,
            self._frame,
            time.monotonic(),
            state.eligible_at,
            tuple(state.look_sharpness),
        )
        log.debug(
            "track %d decided at frame %d: %s (nearest %s %.3f, %s, %d encodings)",
            decision.track_id,
            self._frame,
            ident.person_id,
            ident.nearest,
            ident.distance or -1.0,
            ident.reason,
            len(encodings),
        )
        return decision
