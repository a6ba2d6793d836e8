"""Turns verdicts into check-in events committed to the outbox (outbox first, publish second).

A face verdict carries the decision's distance; the event names it for what it is (check-in schema v2,
edge.recognition.scores): SFace's cosine `similarity`, dlib's `distance`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from edge.clock import ClockStatus
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.contract.topics import GatewayTopics
from edge.gateway.policy import Observation, Policy, Verdict
from edge.logs import masked_uid
from edge.outbox import Outbox, OutboxWriteError
from edge.recognition.backend import DEFAULT_MODEL
from edge.recognition.scores import score_fields

log = logging.getLogger(__name__)


class CheckinRecorder:
    """Thread-safe entry point for every observation source (reader threads, face workers)."""

    def __init__(
        self,
        policy: Policy,
        outbox: Outbox,
        topics: GatewayTopics,
        on_recorded: Callable[[CheckIn], None] | None = None,
        clock: ClockStatus | None = None,
        face_model: str = DEFAULT_MODEL,
    ) -> None:
        self.clock = clock or ClockStatus()
        self.face_model = face_model
        """The recognition model: its face score goes out as `similarity` (sface) or `distance` (dlib)."""
        self.policy = policy
        self.outbox = outbox
        self.topics = topics
        self.on_recorded = on_recorded
        self.recorded = 0
        self.suppressed = 0
        self.lost = 0
        """Check-ins decided but not stored (the outbox could not write: disk full)."""
        self.last_error: str | None = None
        self._lock = threading.Lock()

    def submit(self, obs: Observation) -> CheckIn | None:
        """Decide and record. None when nothing is to be recorded, or when storage failed (counted, logged)."""
        with self._lock:
            verdict = self.policy.decide(obs)
            if verdict is None:
                self.suppressed += 1
                return None
            event = self._record_or_count(verdict)
            if event is None:
                return None
            self.recorded += 1
        self._announce(event)
        return event

    def expire(self, now: float | None = None) -> list[CheckIn]:
        """Record the verdicts of card_and_face windows that have closed (called by the policy timer)."""
        with self._lock:
            recorded = [self._record_or_count(v) for v in self.policy.expire(time.monotonic() if now is None else now)]
            events = [e for e in recorded if e is not None]
            self.recorded += len(events)
        for event in events:
            self._announce(event)
        return events

    def run_timer(self, stop: threading.Event, interval_s: float = 0.2) -> None:
        """Body of the gateway's "policy-timer" thread."""
        while not stop.wait(interval_s):
            try:
                self.expire()
            except Exception:  # never let the timer die silently
                log.exception("policy timer failed")

    def _announce(self, event: CheckIn) -> None:
        log.info(
            "check-in seq=%d gate=%s method=%s decision=%s person=%s card=%s similarity=%s distance=%s",
            event.seq,
            event.gate,
            event.method,
            event.decision,
            event.person_id,
            masked_uid(event.card_uid),
            event.similarity,
            event.distance,
        )
        if self.on_recorded:
            self.on_recorded(event)

    def _record_or_count(self, v: Verdict) -> CheckIn | None:
        try:
            return self._record(v)
        except OutboxWriteError as exc:
            self.lost += 1
            self.last_error = f"check-in not stored ({v.decision} {v.person_id or masked_uid(v.card_uid)}): {exc}"
            log.critical("%s; the gate decision itself stands. Free disk space on the gateway.", self.last_error)
            return None

    def _record(self, v: Verdict) -> CheckIn:
        built: list[CheckIn] = []

        score = score_fields(self.face_model, v.distance) if v.distance is not None else {}

        def build(seq: int) -> tuple[str, str, str]:
            event = CheckIn(
                event_id=new_event_id(),
                site_id=self.topics.site_id,
                gateway_id=self.topics.gateway_id,
                gate=v.gate.gate_id,
                direction=v.gate.direction,
                occurred_at=rfc3339_ms(),
                seq=seq,
                method=v.method,
                person_id=v.person_id,
                decision=v.decision,
                card_uid=v.card_uid,
                distance=score.get("distance"),
                similarity=score.get("similarity"),
                device_id=v.device_id,
                clock_unsynced=not self.clock.synced(),
            )
            built.append(event)
            return self.topics.checkin, event.event_id, event.to_json()

        self.outbox.append(build)
        return built[0]
