"""Where 128-d encodings are computed: in worker processes (the gateway) or inline (tests, tools).

dlib's encoder holds Python's GIL for its whole ~80 ms per face, so a thread would stall detection and
capture; worker processes give real parallelism (the other core here, three more on a Pi 4). Jobs are
aligned 150x150 chips (67 KB), results 128 floats. The job queue is bounded: when every worker is busy the
core skips an encoding (counted) rather than queue work it will be too late for.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
from typing import Protocol

import numpy as np

from edge.camera.base import Image
from edge.recognition.encoder import Encoding, encode_chip

log = logging.getLogger(__name__)


class EncoderDied(RuntimeError):
    """Every encoder worker process has exited: nothing queued will ever be encoded."""


class EncodeBackend(Protocol):
    def submit(self, job_id: int, chip: Image) -> bool:
        """Queue one chip; False when the backend is saturated (nothing queued)."""
        ...

    def poll(self, timeout: float = 0.0) -> list[tuple[int, Encoding]]:
        """Finished jobs; waits up to `timeout` for the first one when none is ready."""
        ...

    @property
    def pending(self) -> int: ...

    def close(self) -> None: ...


class InlineEncoder:
    """Encodes in the caller's thread at submit time: deterministic, for tests and one-shot tools."""

    def __init__(self) -> None:
        self._done: list[tuple[int, Encoding]] = []

    def submit(self, job_id: int, chip: Image) -> bool:
        self._done.append((job_id, encode_chip(chip)))
        return True

    def poll(self, timeout: float = 0.0) -> list[tuple[int, Encoding]]:
        done, self._done = self._done, []
        return done

    @property
    def pending(self) -> int:
        return len(self._done)

    def close(self) -> None:
        self._done.clear()


def _worker_main(jobs: mp.Queue, results: mp.Queue) -> None:  # type: ignore[type-arg]
    # Runs in a spawned process: load the model once, then encode until told to stop (None).
    from edge.recognition import models

    encoder = models.face_encoder()
    while True:
        job = jobs.get()
        if job is None:
            return
        job_id, chip = job
        try:
            enc = np.asarray(encoder.compute_face_descriptor(chip, 1), dtype=np.float32)
            results.put((job_id, enc))
        except Exception as exc:  # a bad chip must not kill the worker
            results.put((job_id, f"{type(exc).__name__}: {exc}"))


class ProcessEncoder:
    """A pool of named encoder processes ("face-encoder-N"), started here and stopped by close()."""

    def __init__(self, workers: int = 1, *, queue_per_worker: int = 2) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that holds threads and sockets
        self._jobs: mp.Queue = ctx.Queue(maxsize=max(1, workers * queue_per_worker))  # type: ignore[type-arg]
        self._results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        self._pending = 0
        self._closed = False
        self.failed = 0
        self._procs = [
            ctx.Process(target=_worker_main, args=(self._jobs, self._results), name=f"face-encoder-{i}", daemon=True)
            for i in range(workers)
        ]
        for p in self._procs:
            p.start()

    def submit(self, job_id: int, chip: Image) -> bool:
        try:
            self._jobs.put_nowait((job_id, np.ascontiguousarray(chip)))
        except queue.Full:
            return False
        self._pending += 1
        return True

    def poll(self, timeout: float = 0.0) -> list[tuple[int, Encoding]]:
        out: list[tuple[int, Encoding]] = []
        block = timeout > 0 and self._pending > 0
        while self._pending > 0:
            try:
                job_id, result = self._results.get(block, timeout) if block else self._results.get_nowait()
            except queue.Empty:
                if not any(p.is_alive() for p in self._procs):
                    codes = ", ".join(f"{p.name} exit {p.exitcode}" for p in self._procs)
                    raise EncoderDied(f"all encoder processes died ({codes}); {self._pending} jobs lost") from None
                break
            block = False
            self._pending -= 1
            if isinstance(result, str):
                self.failed += 1
                log.warning("encoding job %d failed: %s", job_id, result)
                continue
            out.append((job_id, result))
        return out

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for _ in self._procs:
            try:
                self._jobs.put(None, timeout=1.0)
            except queue.Full:
                break
        for p in self._procs:
            p.join(timeout)
            if p.is_alive():
                log.warning("encoder process %s did not stop; terminating it", p.name)
                p.terminate()
                p.join(1.0)
        self._jobs.close()
        self._results.close()
        self._jobs.cancel_join_thread()
        self._results.cancel_join_thread()
