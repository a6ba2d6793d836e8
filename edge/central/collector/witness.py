"""The collector as witness: it records in the store that it is connected, and what it sees of each gateway —
the evidence the notifier judges before it sends an absence notice (edge/central/gates/, migration 0006).

Why the collector (and not the web app's GateMonitor): every tap reaches the store through it, so "the collector
was connected and subscribed" is itself part of "the taps could arrive", and what it hears from the gateways is
what reaches the store. The web app may be stopped without losing a tap; the notifier's safety must not hang on it.

What it hears: the gateways' retained status (online / offline by their last will / stopped) and their health
reports (outbox backlog), subscribed at QoS 0 beside the check-ins — QoS 0 so a persistent session does not queue
old statuses for a collector that was away (the retained one comes again on every subscribe) — and the time of
each gateway's last stored check-in, told by the writer after each commit.

One thread (`collector-witness-<id>`) writes every `beat_s` (5 s: the rows are tiny; the judge tolerates gaps of
`max_gap_s`, 60 s by default, so a beat can be missed ten times before anything is held) on its own connection:
the collector's uptime row, then the gateways' changes. A store error is logged and retried at the next beat —
the check-ins' path never waits on it, and a witness that cannot write simply stops vouching (fail safe)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from edge.central.gates.evidence import KEEP_S, LinkObservation, prune, record_link, record_uptime
from edge.central.web.db import WebDb

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 3600.0


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _stamp(occurred_at: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(occurred_at).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class GateWitness:
    def __init__(
        self,
        url: str,
        collector_id: str,
        prefix: str,
        *,
        beat_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.collector_id = collector_id
        self.prefix = prefix
        self.beat_s = beat_s
        self.clock = clock
        self.since: float | None = None
        """When the current connection was subscribed; None while disconnected."""
        self.beats = 0
        self.last_error: str | None = None
        self._pending: dict[tuple[str, str], LinkObservation] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"collector-witness-{collector_id}", daemon=True)
        self._db: WebDb | None = None
        self._pruned = 0.0

    @property
    def topics(self) -> list[str]:
        return [f"{self.prefix}/+/+/status", f"{self.prefix}/+/+/health"]

    # lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.start_db()
        self._thread.start()

    def start_db(self) -> None:
        """Open the store (`start` does; a test beats by hand without the thread)."""
        self._db = WebDb(self.url, pool_size=1)

    def stop(self) -> None:
        """A last beat (the uptime up to now), then the connection closes."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        if self._db is not None:
            self._db.close()

    # what the collector tells it (paho's and the writer's threads) --------------------------------------------
    def connected(self) -> None:
        with self._lock:
            self.since = self.clock()
        self._wake.set()

    def disconnected(self) -> None:
        self._flush_uptime()
        with self._lock:
            self.since = None

    def _obs(self, site: str, gateway: str) -> LinkObservation:
        return self._pending.setdefault((site, gateway), LinkObservation(site, gateway))

    def message(self, topic: str, payload: bytes) -> None:
        """A status or health message ({prefix}/{site}/{gateway}/status|health)."""
        parts = topic[len(self.prefix) + 1 :].split("/") if topic.startswith(self.prefix + "/") else []
        if len(parts) != 3 or parts[0] in ("collectors", "servers") or len(payload) > 256 * 1024:
            return
        site, gateway, leaf = parts
        at = self.clock()
        with self._lock:
            obs = self._obs(site, gateway)
            if leaf == "status":
                status = payload.decode("utf-8", "replace")[:20] or "unknown"
                obs.transitions.append((at, status))
                obs.status, obs.status_at = status, at
                if status == "online":
                    obs.last_seen = at
            elif leaf == "health":
                try:
                    data = json.loads(payload)
                except ValueError:
                    return
                if not isinstance(data, dict):
                    return
                obs.last_seen = obs.health_at = at
                depth = _number(data.get("outbox_depth"))
                obs.outbox_depth = int(depth) if depth is not None else None
                obs.outbox_oldest_age_s = _number(data.get("outbox_oldest_age_s"))

    def checkins(self, events: Iterable[dict[str, Any]]) -> None:
        """Check-ins just committed: each gateway's latest one (and it was heard from). On the writer's thread
        after each commit, so it keeps the batch's latest timestamp per gateway as text (validated RFC 3339, in
        one gateway's one format) and parses one per gateway: 0.13 µs a check-in, against 0.40 µs parsing each
        (1,000 check-ins of 4 gateways a batch, timeit here) — the collector stores up to 10,000 a second."""
        latest: dict[tuple[str, str], str] = {}
        for e in events:
            key = (e["site_id"], e["gateway_id"])
            stamp = e["occurred_at"]
            if stamp > latest.get(key, ""):
                latest[key] = stamp
        at = self.clock()
        with self._lock:
            for (site, gateway), stamp in latest.items():
                obs = self._obs(site, gateway)
                obs.last_seen = at
                t = _stamp(stamp)
                if t is not None and (obs.last_checkin_at is None or t > obs.last_checkin_at):
                    obs.last_checkin_at = t

    # the witness's thread ------------------------------------------------------------------------------------
    def _flush_uptime(self) -> None:
        with self._lock:
            since = self.since
        if since is None or self._db is None:
            return
        try:
            with self._db.transaction() as tx:
                record_uptime(tx, self.collector_id, since, self.clock())
        except Exception as exc:
            log.warning("collector witness: cannot record uptime: %s", exc)

    def beat(self) -> None:
        """One write: uptime, then every gateway change seen since the last beat (kept for the next on error)."""
        assert self._db is not None
        with self._lock:
            since, pending = self.since, self._pending
            self._pending = {}
        now = self.clock()
        try:
            with self._db.transaction() as tx:
                if since is not None:
                    record_uptime(tx, self.collector_id, since, now)
                for obs in pending.values():
                    record_link(tx, obs)
                if now - self._pruned > PRUNE_EVERY_S:
                    prune(tx, now - KEEP_S)
                    self._pruned = now
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("collector witness: cannot write to the store (%s); retrying", self.last_error)
            with self._lock:  # keep what was not written, older first
                for key, obs in pending.items():
                    newer = self._pending.pop(key, None)
                    self._pending[key] = obs if newer is None else _merge(obs, newer)
            return
        self.beats += 1
        self.last_error = None

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()
            self.beat()
            if stopping:
                return
            self._wake.wait(self.beat_s)
            self._wake.clear()


def _merge(old: LinkObservation, new: LinkObservation) -> LinkObservation:
    out = LinkObservation(old.site_id, old.gateway_id, transitions=[*old.transitions, *new.transitions])
    for name in ("status", "status_at", "last_seen", "health_at", "outbox_depth", "outbox_oldest_age_s"):
        value = getattr(new, name)
        setattr(out, name, value if value is not None else getattr(old, name))
    checkins = [t for t in (old.last_checkin_at, new.last_checkin_at) if t is not None]
    out.last_checkin_at = max(checkins) if checkins else None
    return out
