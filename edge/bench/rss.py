"""Peak resident memory of this process plus its children (the encoder workers), sampled from /proc."""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class PeakRss:
    """Samples every `interval_s` in a named thread; `peak_mib` is the largest total seen."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._sample()
        if self.peak_kib == 0:  # no /proc: fall back to the kernel's own high-water mark
            self.peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def _sample(self) -> None:
        me = os.getpid()
        total = _rss_kib(me) + sum(_rss_kib(c) for c in _children(me))
        self.peak_kib = max(self.peak_kib, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024.0
