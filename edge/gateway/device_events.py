"""Device events and alarms of the gate hardware on {prefix}/{site}/{gateway}/device (QoS 1, not retained).

    {"schema_version": 1, "event_id": "…", "site_id": "…", "gateway_id": "…", "gate": "main-in",
     "controller": "ctl-1", "kind": "input" | "alarm" | "link" | "gate", "name": "door", "active": true,
     "detail": "…", "at": "2026-11-24T07:31:02.114Z"}

kind input: door (active = open), exit_button (pressed), tamper (enclosure opened);
kind alarm: door_held_open, tamper, watchdog_reset, local_mode (raised by the controller);
kind link: controller (active = link up; detail: firmware version or the error);
kind gate: locked (active = locked; detail: "schedule" or "command"), kept_locked (a granted check-in that did
not open the gate; detail: its event_id).

These are telemetry, not attendance: they are not in the outbox. While the broker is unreachable up to
`max_backlog` of them wait in memory (oldest dropped first, counted in health as device_events_dropped) and go
out in order on reconnect; alarms still active are also in every health report's `alarms`.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
from typing import Any

from edge.contract.checkin import new_event_id, rfc3339_ms
from edge.transport.base import Transport

log = logging.getLogger(__name__)


class DeviceEventPublisher:
    def __init__(
        self, transport: Transport, topic: str, site_id: str, gateway_id: str, *, max_backlog: int = 1000
    ) -> None:
        self.transport = transport
        self.topic = topic
        self.site_id = site_id
        self.gateway_id = gateway_id
        self.published = 0
        self.dropped = 0
        self._backlog: collections.deque[bytes] = collections.deque()
        self._max = max_backlog
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="device-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout)

    def wake(self) -> None:
        """The transport (re)connected: send the backlog."""
        with self._cond:
            self._cond.notify_all()

    def emit(self, gate: str, controller: str, kind: str, name: str, active: bool, detail: str = "") -> dict[str, Any]:
        """Queue an event (from any thread; never blocks). Returns it."""
        event = {
            "schema_version": 1,
            "event_id": new_event_id(),
            "site_id": self.site_id,
            "gateway_id": self.gateway_id,
            "gate": gate,
            "controller": controller,
            "kind": kind,
            "name": name,
            "active": active,
            "detail": detail,
            "at": rfc3339_ms(),
        }
        log.info("device %s/%s %s %s=%s %s", gate, controller, kind, name, active, detail)
        with self._cond:
            if len(self._backlog) >= self._max:
                self._backlog.popleft()
                self.dropped += 1
            self._backlog.append(json.dumps(event, separators=(",", ":")).encode())
            self._cond.notify_all()
        return event

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                while not self._stop.is_set() and not (self._backlog and self.transport.connected):
                    self._cond.wait(1.0)
                if self._stop.is_set():
                    return
                payload = self._backlog[0]
            try:
                self.transport.publish(self.topic, payload, qos=1, retain=False)
            except Exception as exc:  # the transport queues while connected; a failure here: retry shortly
                log.warning("device event not published yet: %s", exc)
                self._stop.wait(0.5)
                continue
            with self._cond:
                if self._backlog and self._backlog[0] is payload:
                    self._backlog.popleft()
            self.published += 1
