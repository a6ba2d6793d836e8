"""`edge bench recognition`: the core with each backend and face_recognition's reference loop, side by side.

Runs in one process, one after the other, on the same video (the machine's load is shared alike):
  per model (sface, dlib):
  1. core, as fast as it goes          -> frames/s, CPU-seconds (this process + encoder workers) per second of
                                          video, encodings, decisions (frame numbers), accuracy vs truth
  2. core, paced at the video's fps    -> decision latency as a live camera would see it: from the moment
                                          the first frame with a face >= 80 px arrives to the decision
  then 3. reference loop, as fast as it goes -> frames/s, encodings, per-frame matches mapped to passes
Peak RSS covers this process and the encoder workers, per model.
"""

from __future__ import annotations

import os
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
from edge.recognition.backend import backend_for_model_id
from edge.recognition.core import CoreSettings, RecognitionCore, TrackDecision
from edge.recognition.decision import DecisionRule
from edge.recognition.encode_pool import ProcessEncoder
from edge.recognition.gallery import Gallery
from edge.recognition.reference import ReferenceLoop
from edge.recognition.scores import score_fields


def _enrol(photos: Path, model: str, jitters: int) -> Gallery:
    import tempfile

    from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder

    with tempfile.TemporaryDirectory() as tmp:
        settings = EnrolSettings(jitters=jitters, model=model)
        return enroll(Path(tmp) / "g", photos_from_folder(photos), settings, key=os.urandom(32)).gallery


def enrol_in_child(photos: Path, model: str, jitters: int) -> Gallery:
    """A gallery enrolled from DIR/<person_id>/ photos in a spawned process: the embedding model is loaded there,
    so this process holds only what a gateway's camera process holds (the peak RSS measured is honest)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_enrol, photos, model, jitters).result()


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


def blur_frame(i: int, frame: Image, max_px: int) -> Image:
    """Horizontal motion blur of 0..max_px pixels, drawn per frame from a generator seeded by the frame number (the
    same frames are blurred alike in every run): a gate where some frames catch the child mid-stride."""
    length = int(np.random.default_rng(i).integers(0, max_px + 1))
    if length < 2:
        return frame
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    out: Image = cv2.filter2D(frame, -1, kernel)
    return out


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
    cpu_seconds: float = 0.0
    """CPU time of this process and the encoder workers during the run."""
    cpu_seconds_workers: float = 0.0
    """Of which the encoder workers (the rest: decoding, detection, tracking, alignment in the camera thread)."""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def _proc_cpu_s(pid: int) -> float:
    """utime + stime of a child process from /proc (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_now(encoder: ProcessEncoder) -> tuple[float, float]:
    """(this process, the encoder workers) CPU seconds so far."""
    return time.process_time(), sum(_proc_cpu_s(p) for p in encoder.pids)


def run_core(
    video: str | Path,
    gallery: Gallery,
    rule: DecisionRule,
    settings: CoreSettings,
    *,
    workers: int,
    paced_fps: float | None = None,
    truth: Truth | None = None,
    frame_blur: int = 0,
) -> CoreRun:
    backend = backend_for_model_id(gallery.model)
    encoder = ProcessEncoder(workers, model=backend.name)
    run = CoreRun()
    try:
        core = RecognitionCore(gallery, rule, encoder, settings, backend)
        encoder.wait_ready()
        backend.load()
        arrival: dict[int, float] = {}
        cpu0 = _cpu_now(encoder)
        t0 = time.perf_counter()
        for i, frame in read_frames(video):
            if paced_fps:
                due = t0 + i / paced_fps
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                arrival[i] = time.monotonic()
            run.decisions += core.process(i, blur_frame(i, frame, frame_blur) if frame_blur else frame)
            run.frames += 1
        run.decisions += core.finish()
        run.seconds = time.perf_counter() - t0
        cpu1 = _cpu_now(encoder)
        run.cpu_seconds_workers = cpu1[1] - cpu0[1]
        run.cpu_seconds = cpu1[0] - cpu0[0] + run.cpu_seconds_workers
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


@dataclass
class ReferenceRun:
    frames: int = 0
    seconds: float = 0.0
    encodings: int = 0
    cpu_seconds: float = 0.0
    matches: list[tuple[int, str | None]] = field(default_factory=list)
    """(frame, person or None) per face with a match decision, every frame."""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def run_reference(video: str | Path, gallery: Gallery, limit: int | None) -> ReferenceRun:
    templates = gallery.templates
    loop = ReferenceLoop([t.encoding for t in templates], [t.person_id for t in templates])
    run = ReferenceRun()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for i, frame in read_frames(video, limit):
        for face in loop.process(frame):
            run.matches.append((i, face.person_id))
        run.frames += 1
    run.seconds = time.perf_counter() - t0
    run.cpu_seconds = time.process_time() - cpu0
    run.encodings = loop.encodings
    return run


def _single_looks(gallery: Gallery, rule: DecisionRule, d: TrackDecision) -> list[float | None]:
    """The distance to the nearest person of each look alone (what fusing the track's looks smooths out)."""
    return [gallery.identify(e[None, :], rule).distance for e in d.encodings]


def _core_figures(
    model: str,
    fast: CoreRun,
    paced_run: CoreRun | None,
    truth: Truth | None,
    video_fps: float,
    rss_mib: float,
    gallery: Gallery,
    rule: DecisionRule,
) -> dict[str, Any]:
    passes = len(truth.passes) if truth else max(1, fast.tracks)
    looks = [x for d in fast.decisions for x in d.look_sharpness]
    video_s = fast.frames / video_fps if video_fps else 0.0
    out: dict[str, Any] = {
        "frames": fast.frames,
        "seconds": round(fast.seconds, 2),
        "fps": round(fast.fps, 1),
        "cpu_seconds": round(fast.cpu_seconds, 2),
        "cpu_s_per_video_s": round(fast.cpu_seconds / video_s, 3) if video_s else None,
        "cpu_s_per_video_s_encoder_workers": round(fast.cpu_seconds_workers / video_s, 3) if video_s else None,
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
                **score_fields(model, d.identification.distance),
                "margin": None if d.identification.margin is None else round(d.identification.margin, 3),
                "encodings": len(d.encodings),
                "look_sharpness": [round(x, 1) for x in d.look_sharpness],
                "single_looks": [score_fields(model, x) for x in _single_looks(gallery, rule, d)],
            }
            for d in fast.decisions
        ],
        "look_sharpness_mean": round(float(np.mean(looks)), 1) if looks else None,
        "peak_rss_mib": round(rss_mib, 1),
    }
    if paced_run is not None:
        out["latency_ms"] = summary(paced_run.latencies_ms)
        out["latency_granted_ms"] = summary(paced_run.latency_granted_ms)
        out["paced_cpu_s_per_video_s"] = round(paced_run.cpu_seconds / video_s, 3) if video_s else None
        out["paced_cpu_s_per_video_s_encoder_workers"] = (
            round(paced_run.cpu_seconds_workers / video_s, 3) if video_s else None
        )
        out["paced_decisions_equal"] = [d.person_id for d in paced_run.decisions] == [
            d.person_id for d in fast.decisions
        ]
    if truth:
        out["truth"] = score(truth, [(d.eligible_frame, d.person_id) for d in fast.decisions]).as_dict()
    return out


def bench_recognition(
    video: str | Path,
    galleries: dict[str, Gallery],
    truth_path: str | Path | None,
    rules: dict[str, DecisionRule],
    settings: CoreSettings,
    *,
    models: list[str] | None = None,
    workers: int = 1,
    paced: bool = True,
    reference: bool = True,
    reference_limit: int | None = None,
    frame_blur: int = 0,
) -> dict[str, Any]:
    """`galleries`: one per model ("sface", "dlib"); `models` the ones to run the core with (default: all); the
    reference loop uses the dlib gallery's templates."""
    truth = load_truth(truth_path) if truth_path else None
    fps = truth.fps if truth else video_fps(video)
    out: dict[str, Any] = {"video": str(video), "fps": fps, "workers": workers, "cpu_count": os.cpu_count()}
    out["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    out["models"] = {}
    for name in models or list(galleries):
        gallery, rule = galleries[name], rules[name]
        with PeakRss() as rss_core:
            fast = run_core(video, gallery, rule, settings, workers=workers, frame_blur=frame_blur)
            paced_run = (
                run_core(
                    video, gallery, rule, settings, workers=workers, paced_fps=fps, truth=truth, frame_blur=frame_blur
                )
                if paced
                else None
            )
        figures = _core_figures(name, fast, paced_run, truth, fps, rss_core.peak_mib, gallery, rule)
        figures["gallery"] = {"people": len(gallery.people), "templates": len(gallery), "model": gallery.model}
        figures["rule"] = {
            "threshold": rule.threshold_for(len(gallery.people)),
            "margin": rule.margin,
            "min_encodings": settings.min_encodings,
            "sharpest_looks": settings.sharpest_looks,
            "frame_blur_px": frame_blur,
        }
        out["models"][name] = figures
    if "sface" in out["models"] and "dlib" in out["models"]:
        out["sface_vs_dlib_fps"] = round(out["models"]["sface"]["fps"] / out["models"]["dlib"]["fps"], 2)
    if reference and "dlib" in galleries:
        passes = len(truth.passes) if truth else None
        with PeakRss() as rss_ref:
            ref = run_reference(video, galleries["dlib"], reference_limit)
        out["reference"] = {
            "frames": ref.frames,
            "seconds": round(ref.seconds, 2),
            "fps": round(ref.fps, 2),
            "cpu_s_per_video_s": round(ref.cpu_seconds / (ref.frames / fps), 3) if ref.frames else None,
            "encodings": ref.encodings,
            "encodings_per_pass": round(ref.encodings / passes, 1) if passes and reference_limit is None else None,
            "peak_rss_mib": round(rss_ref.peak_mib, 1),
        }
        if truth and reference_limit is None:
            out["reference"]["truth"] = score(truth, _reference_decisions(truth, ref.matches)).as_dict()
        for figures in out["models"].values():
            figures["speedup_vs_reference"] = round(figures["fps"] / ref.fps, 2) if ref.fps else None
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
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
