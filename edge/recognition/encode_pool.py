"""Where 128-d encodings are computed: in worker processes (the gateway) or inline (tests, tools).

An embedding is the costly step (dlib ~80-100 ms per face holding the GIL, SFace ~7-20 ms) and would stall
detection and capture in the camera thread; worker processes give real parallelism (the other core here, more
on a Pi 4). Each worker loads the backend named by `model`. Jobs are aligned chips (dlib 150x150, 67 KB;
SFace 112x112, 38 KB), results 128 floats. The job queue is bounded: when every worker is busy the
core skips an encoding (counted) rather than queue work it will be too late for.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
from typing import Any, Protocol

import numpy as np

from edge.camera.base import Image
from edge.recognition.backend import DEFAULT_MODEL, get_backend
from edge.recognition.encoder import Encoding

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

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.model = model
        self._backend = get_backend(model)
        self._done: list[tuple[int, Encoding]] = []

    def submit(self, job_id: int, chip: Image) -> bool:
        self._done.append((job_id, self._backend.embed(chip)))
        return True

    def poll(self, timeout: float = 0.0) -> list[tuple[int, Encoding]]:
        done, self._done = self._done, []
        return done

    @property
    def pending(self) -> int:
        return len(self._done)

    def close(self) -> None:
        self._done.clear()


def _worker_main(jobs: mp.Queue, results: mp.Queue, model: str, ready: Any) -> None:  # type: ignore[type-arg]
    # Runs in a spawned process: load the embedding model once (one dummy chip), then encode until told to stop.
    backend = get_backend(model)
    try:
        backend.embed(np.zeros((backend.chip_size, backend.chip_size, 3), np.uint8))
    except Exception as exc:  # reported per job below: the gateway checked the files before starting us
        log.error("encoder model %s failed to load: %s", model, exc)
    ready.set()
    parent = mp.parent_process()
    while True:
        try:
            job = jobs.get(timeout=1.0)
        except queue.Empty:
            # a gateway killed before it could close us (SIGKILL, or a stop signal during its start-up) sends no
            # None: without this check its encoders and multiprocessing's resource tracker outlived it
            if parent is not None and not parent.is_alive():
                return
            continue
        if job is None:
            return
        job_id, chip = job
        try:
            enc = np.asarray(backend.embed(chip), dtype=np.float32)
            results.put((job_id, enc))
        except Exception as exc:  # a bad chip must not kill the worker
            results.put((job_id, f"{type(exc).__name__}: {exc}"))


class ProcessEncoder:
    """A pool of named encoder processes ("face-encoder-N"), started here and stopped by close()."""

    def __init__(self, workers: int = 1, *, model: str = DEFAULT_MODEL, queue_per_worker: int = 2) -> None:
        self.model = model
        ctx = mp.get_context("spawn")  # never fork a process that holds threads and sockets
        self._jobs: mp.Queue = ctx.Queue(maxsize=max(1, workers * queue_per_worker))  # type: ignore[type-arg]
        self._results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        self._pending = 0
        self._closed = False
        self.failed = 0
        self._ready = [ctx.Event() for _ in range(workers)]
        self._procs = [
            ctx.Process(
                target=_worker_main,
                args=(self._jobs, self._results, model, self._ready[i]),
                name=f"face-encoder-{i}",
                daemon=True,
            )
            for i in range(workers)
        ]
        for p in self._procs:
            p.start()

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait until every worker has loaded its model (a camera that starts at once would otherwise see its first
        encodings skipped while the workers load)."""
        deadline = time.monotonic() + timeout
        return all(e.wait(max(0.0, deadline - time.monotonic())) for e in self._ready)

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
