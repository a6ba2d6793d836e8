"""`edge bench recognition`: the core and face_recognition's reference loop, side by side on one video.

Three runs in one process, on the same decoded frames:
  1. core, as fast as it goes          -> frames/s, encodings, decisions (frame numbers), accuracy vs truth
  2. core, paced at the video's fps    -> decision latency as a live camera would see it: from the moment
                                          the first frame with a face >= 80 px arrives to the decision
  3. reference loop, as fast as it goes -> frames/s, encodings, per-frame matches mapped to passes
Peak RSS covers this process and the encoder workers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.bench.rss import PeakRss
from edge.bench.stats import summary
from edge.bench.truth import Truth, load_truth, score
from edge.camera.base import Image
from edge.recognition.core import CoreSettings, RecognitionCore, TrackDecision
from edge.recognition.decision import DecisionRule
from edge.recognition.encode_pool import ProcessEncoder
from edge.recognition.gallery import Gallery
from edge.recognition.reference import ReferenceLoop


def read_frames(video: str | Path, limit: int | None = None) -> Iterator[tuple[int, Image]]:
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {video}")
    try:
        i = 0
        while limit is None or i < limit:
            ok, frame = cap.read()
            if not ok:
                return
            yield i, frame
            i += 1
    finally:
        cap.release()


def video_fps(video: str | Path) -> float:
    cap = cv2.VideoCapture(str(video))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    cap.release()
    return fps if fps > 1 else 30.0


@dataclass
class CoreRun:
    frames: int = 0
    seconds: float = 0.0
    decisions: list[TrackDecision] = field(default_factory=list)
    encodings: int = 0
    skipped: int = 0
    tracks: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    latency_granted_ms: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def run_core(
    video: str | Path,
    gallery: Gallery,
    rule: DecisionRule,
    settings: CoreSettings,
    *,
    workers: int,
    paced_fps: float | None = None,
    truth: Truth | None = None,
) -> CoreRun:
    encoder = ProcessEncoder(workers)
    run = CoreRun()
    try:
        core = RecognitionCore(gallery, rule, encoder, settings)
        _warm_up(core, encoder)
        arrival: dict[int, float] = {}
        t0 = time.perf_counter()
        for i, frame in read_frames(video):
            if paced_fps:
                due = t0 + i / paced_fps
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                arrival[i] = time.monotonic()
            run.decisions += core.process(i, frame)
            run.frames += 1
        run.decisions += core.finish()
        run.seconds = time.perf_counter() - t0
        run.encodings, run.skipped, run.tracks = core.stats.encodings, core.stats.encodings_skipped, core.stats.tracks
        if paced_fps:
            for d in run.decisions:
                start = d.eligible_frame
                if truth is not None and (k := truth.pass_of(d.eligible_frame)) is not None:
                    start = truth.passes[k].first_frame_ge_80px
                if start in arrival:
                    ms = max(0.0, (d.decided_at - arrival[start]) * 1000)
                    run.latencies_ms.append(ms)
                    if d.person_id is not None:
                        run.latency_granted_ms.append(ms)
    finally:
        encoder.close()
    return run


def _warm_up(core: RecognitionCore, encoder: ProcessEncoder) -> None:
    """Wait until the worker has loaded its model, so start-up is not billed to the first frames."""
    encoder.submit(0, np.zeros((150, 150, 3), np.uint8))
    while not encoder.poll(timeout=1.0) and encoder.pending:
        pass


@dataclass
class ReferenceRun:
    frames: int = 0
    seconds: float = 0.0
    encodings: int = 0
    matches: list[tuple[int, str | None]] = field(default_factory=list)
    """(frame, person or None) per face with a match decision, every frame."""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def run_reference(video: str | Path, gallery: Gallery, limit: int | None) -> ReferenceRun:
    templates = gallery.templates
    loop = ReferenceLoop([t.encoding for t in templates], [t.person_id for t in templates])
    run = ReferenceRun()
    t0 = time.perf_counter()
    for i, frame in read_frames(video, limit):
        for face in loop.process(frame):
            run.matches.append((i, face.person_id))
        run.frames += 1
    run.seconds = time.perf_counter() - t0
    run.encodings = loop.encodings
    return run


def bench_recognition(
    video: str | Path,
    gallery_path: str | Path,
    truth_path: str | Path | None,
    rule: DecisionRule,
    settings: CoreSettings,
    *,
    workers: int = 1,
    paced: bool = True,
    reference: bool = True,
    reference_limit: int | None = None,
) -> dict[str, Any]:
    gallery = Gallery.load(gallery_path)
    truth = load_truth(truth_path) if truth_path else None
    fps = truth.fps if truth else video_fps(video)
    out: dict[str, Any] = {"video": str(video), "gallery": {"people": len(gallery.people), "templates": len(gallery)}}
    out["rule"] = {"threshold": rule.threshold, "margin": rule.margin}
    with PeakRss() as rss_core:
        fast = run_core(video, gallery, rule, settings, workers=workers)
        paced_run = (
            run_core(video, gallery, rule, settings, workers=workers, paced_fps=fps, truth=truth) if paced else None
        )
    passes = len(truth.passes) if truth else max(1, fast.tracks)
    out["core"] = {
        "frames": fast.frames,
        "seconds": round(fast.seconds, 2),
        "fps": round(fast.fps, 1),
        "encodings": fast.encodings,
        "encodings_skipped": fast.skipped,
        "encodings_per_pass": round(fast.encodings / passes, 2),
        "tracks": fast.tracks,
        "decisions": [
            {
                "track": d.track_id,
                "eligible_frame": d.eligible_frame,
                "decided_frame": d.decided_frame,
                "person_id": d.person_id,
                "nearest": d.identification.nearest,
                "distance": None if d.identification.distance is None else round(d.identification.distance, 3),
                "margin": None if d.identification.margin is None else round(d.identification.margin, 3),
                "encodings": len(d.encodings),
            }
            for d in fast.decisions
        ],
        "peak_rss_mib": round(rss_core.peak_mib, 1),
    }
    if paced_run is not None:
        out["core"]["latency_ms"] = summary(paced_run.latencies_ms)
        out["core"]["latency_granted_ms"] = summary(paced_run.latency_granted_ms)
        out["core"]["paced_decisions_equal"] = [d.person_id for d in paced_run.decisions] == [
            d.person_id for d in fast.decisions
        ]
    if truth:
        out["core"]["truth"] = score(truth, [(d.eligible_frame, d.person_id) for d in fast.decisions]).as_dict()
    if reference:
        with PeakRss() as rss_ref:
            ref = run_reference(video, gallery, reference_limit)
        out["reference"] = {
            "frames": ref.frames,
            "seconds": round(ref.seconds, 2),
            "fps": round(ref.fps, 2),
            "encodings": ref.encodings,
            "encodings_per_pass": round(ref.encodings / passes, 1) if reference_limit is None else None,
            "peak_rss_mib": round(rss_ref.peak_mib, 1),
        }
        if truth and reference_limit is None:
            out["reference"]["truth"] = score(truth, _reference_decisions(truth, ref.matches)).as_dict()
        out["speedup"] = round(fast.fps / ref.fps, 2) if ref.fps else None
    return out


def _reference_decisions(truth: Truth, matches: list[tuple[int, str | None]]) -> list[tuple[int, str | None]]:
    """Per-frame answers as decisions: each distinct answer counts once per pass (the loop has no tracks)."""
    seen: set[tuple[int | None, str | None]] = set()
    out: list[tuple[int, str | None]] = []
    for frame, person in matches:
        key = (truth.pass_of(frame), person)
        if key not in seen:
            seen.add(key)
            out.append((frame, person))
    return out
