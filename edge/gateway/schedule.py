"""Opening hours of a gate (config `gates[].schedule`): is the gate allowed to open at a given moment?"""

from __future__ import annotations

from datetime import datetime
from typing import get_args
from zoneinfo import ZoneInfo

from edge.config.model import ScheduleConfig, Weekday

_DAYS: tuple[str, ...] = get_args(Weekday)
"""mon ... sun, in datetime.weekday() order (the config's own list)."""


class GateSchedule:
    def __init__(self, cfg: ScheduleConfig) -> None:
        self.zone = ZoneInfo(cfg.timezone) if cfg.timezone else None
        self.windows = [(set(w.days), w.start, w.end) for w in cfg.open]

    def is_open(self, at: datetime | None = None) -> bool:
        """True inside an opening window. `at` must be timezone-aware (now when omitted)."""
        local = (at or datetime.now().astimezone()).astimezone(self.zone)
        day, hhmm = _DAYS[local.weekday()], local.strftime("%H:%M")
        return any(day in days and start <= hhmm < end for days, start, end in self.windows)
