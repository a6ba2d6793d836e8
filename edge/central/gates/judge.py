"""The verdict: were a school's gates healthy over a window? Pure — the evidence comes from the store (evidence.py).

Healthy means every one of these holds over [window start, now]; anything the store cannot vouch for is unknown and
unknown is unhealthy (fail safe: a held batch costs the office a click, a false "chưa đến trường" costs a parent a
fright and the school its trust):
- a collector was connected to the broker the whole time (no gap longer than `max_gap_s`) and still is;
- the school has at least one registered gateway, and each was `online` the whole time (no other status — offline
  by its last will, stopped, never seen — for longer than `max_gap_s`), was heard from within `stale_s`, sent a
  health report within `stale_s`, and that report shows no check-in stuck in its outbox for `stuck_outbox_s`;
- check-ins came in today at all (when the caller expects some: a school day with students).

A blip shorter than `max_gap_s` is tolerated: a gateway keeps its taps in its outbox until the collector's receipt,
so a short cut delays taps and loses none; the outbox check then catches taps still on their way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.central.gates.evidence import Evidence


@dataclass(frozen=True)
class Rules:
    window_s: float = 7200.0
    max_gap_s: float = 60.0
    stale_s: float = 120.0
    stuck_outbox_s: float = 60.0

    @staticmethod
    def of(cfg: Any) -> Rules:
        """From central.yaml's `notify.holds` (edge.config.central.HoldsConfig)."""
        return Rules(cfg.window_s, cfg.max_gap_s, cfg.stale_s, cfg.stuck_outbox_s)


@dataclass(frozen=True)
class Reason:
    code: str
    """collector_never | collector_down | no_gateways | gateway_never | gateway_down | gateway_silent |
    gateway_no_health | gateway_backlog | no_checkins"""
    gateway: str | None = None
    since: float | None = None
    until: float | None = None
    """None: still so at judging time."""
    status: str | None = None
    count: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @staticmethod
    def of(data: dict[str, object]) -> Reason:
        def num(key: str) -> float | None:
            v = data.get(key)
            return float(v) if isinstance(v, int | float) else None

        count = data.get("count")
        return Reason(
            str(data.get("code", "unknown")),
            str(data["gateway"]) if data.get("gateway") is not None else None,
            num("since"),
            num("until"),
            str(data["status"]) if data.get("status") is not None else None,
            int(count) if isinstance(count, int) else None,
        )


@dataclass(frozen=True)
class Verdict:
    reasons: list[Reason]

    @property
    def healthy(self) -> bool:
        return not self.reasons


def _gaps(
    periods: list[tuple[float, float]], start: float, now: float, max_gap: float
) -> list[tuple[float, float | None]]:
    """Stretches of [start, now] not covered by `periods` (sorted by start) longer than max_gap; None: still open."""
    gaps: list[tuple[float, float | None]] = []
    cursor = start
    for since, until in periods:
        if since - cursor > max_gap:
            gaps.append((cursor, since))
        cursor = max(cursor, until)
    if now - cursor > max_gap:
        gaps.append((cursor, None))
    return gaps


def _online_periods(changes: list[tuple[float, str]], start: float, now: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for i, (at, status) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else now
        if status == "online" and end > start:
            out.append((max(at, start), end))
    return out


def judge(ev: Evidence, registered: list[str], rules: Rules, now: float, *, expect_checkins: bool) -> Verdict:
    reasons: list[Reason] = []
    start = ev.start
    if not ev.uptime:
        reasons.append(Reason("collector_never"))
    else:
        reasons += [
            Reason("collector_down", since=a, until=b) for a, b in _gaps(ev.uptime, start, now, rules.max_gap_s)
        ]
    if not registered:
        reasons.append(Reason("no_gateways"))
    for gw in sorted(registered):
        link = ev.links.get(gw)
        if link is None:
            reasons.append(Reason("gateway_never", gw))
            continue
        changes = ev.log.get(gw, [])
        gaps = _gaps(_online_periods(changes, start, now), start, now, rules.max_gap_s)
        for a, b in gaps:
            # the status it was in at the gap's start (unknown: the store has no status from before then)
            known = [s for at, s in changes if at <= a]
            reasons.append(Reason("gateway_down", gw, a, b, known[-1] if known else "unknown"))
        if gaps and gaps[-1][1] is None:
            continue  # down now: freshness and backlog say nothing more
        if link.last_seen is None or now - link.last_seen > rules.stale_s:
            reasons.append(Reason("gateway_silent", gw, since=link.last_seen))
        elif link.health_at is None or now - link.health_at > rules.stale_s:
            reasons.append(Reason("gateway_no_health", gw, since=link.health_at))
        elif (link.outbox_depth or 0) > 0 and (
            link.outbox_oldest_age_s is None or link.outbox_oldest_age_s >= rules.stuck_outbox_s
        ):
            reasons.append(Reason("gateway_backlog", gw, count=link.outbox_depth))
    if expect_checkins and ev.checkins_today == 0:
        reasons.append(Reason("no_checkins"))
    return Verdict(reasons)


def _hhmm(t: float | None, tz: ZoneInfo) -> str:
    return "?" if t is None else f"{datetime.fromtimestamp(t, tz):%H:%M:%S}"


def describe(r: Reason, tz: ZoneInfo) -> str:
    """One reason in English (logs, CLI); the web app has both languages (edge/central/web/i18n.py)."""
    until = "now" if r.until is None else _hhmm(r.until, tz)
    return {
        "collector_never": "no collector has ever reported to this store",
        "collector_down": f"no collector connected to the broker from {_hhmm(r.since, tz)} to {until}",
        "no_gateways": "no gateway is registered for this school",
        "gateway_never": f"gateway {r.gateway} has never been seen by a collector",
        "gateway_down": f"gateway {r.gateway} {r.status} from {_hhmm(r.since, tz)} to {until}",
        "gateway_silent": f"gateway {r.gateway} silent since {_hhmm(r.since, tz)}",
        "gateway_no_health": f"gateway {r.gateway} sent no health report since {_hhmm(r.since, tz)}",
        "gateway_backlog": f"gateway {r.gateway} has {r.count} check-in(s) stuck in its outbox",
        "no_checkins": "no check-in at all today",
    }.get(r.code, r.code)
