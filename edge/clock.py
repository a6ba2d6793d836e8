"""Is the wall clock trustworthy? A gateway without an RTC boots at 1970 (or at its last saved time) and steps
when NTP syncs. Events decided before that carry `clock_unsynced: true`; their order is (gateway_id, seq).

The kernel knows: adjtimex(2) returns TIME_ERROR while the clock is not synchronised (chrony, ntpd and
systemd-timesyncd all clear it once synced). Checked at most every few seconds (one cheap syscall).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
import time
from typing import Literal

TIME_ERROR = 5
ClockCheck = Literal["kernel", "assume_synced", "assume_unsynced"]


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (x86-64 and aarch64 Linux: longs are 64-bit); only `modes` is written.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_padding", ctypes.c_int * 11),
    ]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def kernel_clock_synced() -> bool | None:
    """True/False from the kernel; None where it cannot be asked (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    tx = _Timex()
    state = _libc().adjtimex(ctypes.byref(tx))
    if state < 0:
        return None
    return bool(state != TIME_ERROR)


class ClockStatus:
    def __init__(self, check: ClockCheck = "kernel", cache_s: float = 5.0) -> None:
        self.check = check
        self.cache_s = cache_s
        self._at = -1e9
        self._synced = True

    def synced(self) -> bool:
        if self.check != "kernel":
            return self.check == "assume_synced"
        now = time.monotonic()
        if now - self._at > self.cache_s:
            result = kernel_clock_synced()
            self._synced = True if result is None else result
            self._at = now
        return self._synced
