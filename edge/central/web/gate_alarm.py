"""The "gates down" alarm and the held absence batches, as the office sees them on every page (a banner in
base.html for admin and office accounts): the same verdict the notifier logs (edge/central/gates/alarm.py) and the
count of batches waiting for a decision. Read at most every CACHE_S per school — every page render asks, and a
verdict is a handful of indexed queries — so the banner lags the store by at most that."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from edge.central.gates import holds
from edge.central.gates.alarm import gates_now
from edge.central.gates.judge import Reason, Rules
from edge.central.web.db import WebDb
from edge.config.central import CentralConfig

log = logging.getLogger(__name__)
CACHE_S = 5.0


@dataclass(frozen=True)
class GateAlarm:
    site_id: str
    school_name: str
    reasons: list[Reason]
    """What is down now ([] = the gates are fine); a store that cannot be read is one reason, 'unreadable'."""
    held: int
    """Held batches waiting for the office."""
    tz: ZoneInfo

    @property
    def raised(self) -> bool:
        return bool(self.reasons or self.held)


_cache: dict[tuple[int, str], tuple[float, list[Reason], int]] = {}
_lock = threading.Lock()


def alarm(db: WebDb, site_id: str, name: str, tz: ZoneInfo, rules: Rules, now: float) -> GateAlarm:
    key = (id(db), site_id)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_S:
        return GateAlarm(site_id, name, hit[1], hit[2], tz)
    try:
        with db.transaction() as tx:
            reasons = gates_now(tx, site_id, rules, now).reasons
            held = holds.open_count(tx, site_id)
    except Exception as exc:  # fail safe: an alarm the office can see, not a page that hides it
        log.warning("gates' health of %s unreadable: %s", site_id, exc)
        reasons, held = [Reason("unreadable")], 0
    with _lock:
        _cache[key] = (time.monotonic(), reasons, held)
    return GateAlarm(site_id, name, reasons, held, tz)


def rules_of(cfg: CentralConfig) -> Rules:
    """The hold rules of central.yaml (notify.holds): the banner judges as the notifier does."""
    return Rules.of(cfg.notify.holds)


def reason_text(t: Callable[..., str], r: Reason, tz: ZoneInfo) -> str:
    """One reason in the reader's language (i18n keys gates.reason.*), times in the school's zone."""

    def hhmm(at: float | None) -> str:
        return "?" if at is None else f"{datetime.fromtimestamp(at, tz):%H:%M}"

    status = t(f"gates.{r.status}") if r.status in ("offline", "stopped", "unknown", "online") else (r.status or "")
    until = t("gates.reason.now") if r.until is None else hhmm(r.until)
    return t(
        f"gates.reason.{r.code}", gateway=r.gateway or "", since=hhmm(r.since), until=until, status=status,
        count=r.count if r.count is not None else "?",
    )  # fmt: skip
