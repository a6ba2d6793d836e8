"""Remote commands over MQTT: {prefix}/{site}/{gateway}/cmd/{name} -> {prefix}/{site}/{gateway}/cmd/{name}/result.

Request (JSON object, QoS 1):  {"request_id": "r-42", "gate": "main-in", ...arguments}
Result  (JSON object, QoS 1):  {"request_id": "r-42", "command": "open_gate", "ok": true, "status": "done",
                                "detail": {...}, "at": "…"}  or  {..., "ok": false, "error": "…"}

    open_gate      gate (optional when one gate has a controller), ms (optional: the gate's pulse_ms)
    lock_down      gate (optional: every gate)
    release        gate (optional: every gate)
    buzz           gate (optional), pattern: short | long | alarm | off
    reload_roster  (none)

Malformed JSON, a missing request_id, unknown commands or arguments, an unknown gate: an error result, never
an exception. Commands run one at a time on the thread `mqtt-commands`, so a slow controller never blocks
the MQTT network thread.

Every request must be signed (edge/contract/signing.py: issued_at, nonce, signer, signature) by an operator or
server identity of the site; the `authorizer` (edge/gateway/command_auth.py) refuses a missing or bad signature,
a stale issued_at and a replayed nonce with an error result, logged and counted (`commands_refused` in health).
Oversized payloads are refused before they are queued or parsed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge import jsonstrict
from edge.contract.checkin import rfc3339_ms
from edge.contract.signing import RESERVED, SignatureRefused
from edge.gateway.command_auth import CommandAuthorizer
from edge.gateway.devices import GateDevices
from edge.roster import RosterError
from edge.transport.base import Transport
from firmware_bridge.controller import BUZZER_PATTERNS, CommandResult

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 16384
COMMON_FIELDS = {"request_id", "gate"} | RESERVED


class CommandError(Exception):
    pass


@dataclass(frozen=True)
class Command:
    name: str
    arguments: frozenset[str]
    run: Callable[[dict[str, Any]], dict[str, Any]]


class RemoteCommands:
    def __init__(
        self,
        transport: Transport,
        base_topic: str,
        gates: dict[str, GateDevices],
        reload_roster: Callable[[], str],
        *,
        authorizer: CommandAuthorizer | None,
        wait_s: float = 3.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        """`authorizer` None runs unsigned commands: only for a gateway on an insecure plaintext broker whose
        config says commands.require_signature: false."""
        self.transport = transport
        self.authorizer = authorizer
        self.max_request_bytes = max_request_bytes
        self.prefix = f"{base_topic}/cmd/"
        self.gates = gates
        self.reload_roster = reload_roster
        self.wait_s = wait_s
        self.handled = 0
        self.failed = 0
        self.commands = {
            c.name: c
            for c in (
                Command("open_gate", frozenset({"ms"}), self._open_gate),
                Command("lock_down", frozenset(), lambda req: self._lock(req, True)),
                Command("release", frozenset(), lambda req: self._lock(req, False)),
                Command("buzz", frozenset({"pattern"}), self._buzz),
                Command("reload_roster", frozenset(), self._reload_roster),
            )
        }
        self._inbox: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=100)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mqtt-commands", daemon=True)

    @property
    def topic_filter(self) -> str:
        return self.prefix + "+"

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._inbox.put_nowait(None)
        self._thread.join(timeout)

    def accepts(self, topic: str) -> bool:
        return topic.startswith(self.prefix) and "/" not in topic[len(self.prefix) :]

    def submit(self, topic: str, payload: bytes) -> None:
        """From the MQTT network thread: queue, never block (a flood beyond 100 waiting is answered busy;
        an oversized payload is answered at once and not kept)."""
        if len(payload) > self.max_request_bytes:
            self.failed += 1
            log.warning("command on %s refused unread: %d bytes", topic, len(payload))
            self._publish(topic[len(self.prefix) :], {"request_id": None, "ok": False, "error": "request too large"})
            return
        try:
            self._inbox.put_nowait((topic, payload))
        except queue.Full:
            self._publish(topic[len(self.prefix) :], {"request_id": None, "ok": False, "error": "busy: try again"})

    # mqtt-commands thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:
                return
            topic, payload = item
            try:
                self.handle(topic[len(self.prefix) :], payload)
            except Exception:  # a bug must not end the command service
                log.exception("command on %s failed", topic)

    def handle(self, name: str, payload: bytes) -> dict[str, Any]:
        """Run one request and publish its result; returns the result."""
        request_id: Any = None
        try:
            request = self._parse(payload)
            request_id = request["request_id"]
            command = self.commands.get(name)
            if command is None:
                raise CommandError(f"unknown command {name!r}; known: {', '.join(sorted(self.commands))}")
            extra = set(request) - COMMON_FIELDS - command.arguments
            if extra:
                raise CommandError(f"unknown argument(s) for {name}: {', '.join(sorted(extra))}")
            signer = "unsigned"
            if self.authorizer is not None:
                try:
                    signer = self.authorizer.verify(name, request).name
                except SignatureRefused as exc:
                    log.warning("command %s %r refused: %s", name, request_id, exc)
                    raise CommandError(f"refused: {exc}") from None
            log.info("command %s %r signed by %s", name, request_id, signer)
            detail = command.run(request)
            result = {"request_id": request_id, "ok": True, "status": "done", "detail": detail}
            self.handled += 1
        except CommandError as exc:
            result = {"request_id": request_id, "ok": False, "error": str(exc)}
            self.failed += 1
        log.info("command %s %s -> %s", name, request_id, "ok" if result["ok"] else result["error"])
        self._publish(name, result)
        return result

    def _publish(self, name: str, result: dict[str, Any]) -> None:
        body = {"command": name, **result, "at": rfc3339_ms()}
        if self.transport.connected:
            self.transport.publish(f"{self.prefix}{name}/result", json.dumps(body).encode(), qos=1)

    def _parse(self, payload: bytes) -> dict[str, Any]:
        if len(payload) > self.max_request_bytes:
            raise CommandError(f"request larger than {self.max_request_bytes} bytes")
        try:
            request = jsonstrict.loads(payload)
        except jsonstrict.RepeatedKey as exc:
            raise CommandError(f"malformed request: {exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise CommandError(f"malformed request: not JSON ({exc})") from None
        if not isinstance(request, dict):
            raise CommandError("malformed request: a JSON object is expected")
        rid = request.get("request_id")
        if not isinstance(rid, str) or not 1 <= len(rid) <= 128:
            raise CommandError("malformed request: request_id (a string of 1-128 characters) is required")
        gate = request.get("gate")
        if gate is not None and not isinstance(gate, str):
            raise CommandError("malformed request: gate must be a string")
        return request

    # commands ------------------------------------------------------------------------------------------
    def _targets(self, request: dict[str, Any], *, one: bool) -> list[GateDevices]:
        gate = request.get("gate")
        if gate is not None:
            if gate not in self.gates:
                raise CommandError(f"unknown gate {gate!r}; gates with a controller: {', '.join(self.gates) or 'none'}")
            return [self.gates[gate]]
        if not self.gates:
            raise CommandError("this gateway has no gate controller")
        if one and len(self.gates) > 1:
            raise CommandError(f"which gate? one of: {', '.join(self.gates)}")
        return list(self.gates.values())

    def _wait(self, results: dict[str, CommandResult]) -> dict[str, Any]:
        statuses = {gate: r.wait(self.wait_s) for gate, r in results.items()}
        failed = {g: s for g, s in statuses.items() if s != "done"}
        if failed:
            raise CommandError("; ".join(f"gate {g}: {s}" for g, s in failed.items()))
        return {"gates": sorted(statuses)}

    def _open_gate(self, request: dict[str, Any]) -> dict[str, Any]:
        ms = request.get("ms")
        if ms is not None and (not isinstance(ms, int) or isinstance(ms, bool) or not 100 <= ms <= 60_000):
            raise CommandError("ms must be an integer from 100 to 60000")
        (devices,) = self._targets(request, one=True)
        if devices.locked:
            raise CommandError(f"gate {devices.gate.gate_id} is locked; send release first")
        return self._wait({devices.gate.gate_id: devices.open_gate(ms)})

    def _lock(self, request: dict[str, Any], locked: bool) -> dict[str, Any]:
        targets = self._targets(request, one=False)
        return self._wait({d.gate.gate_id: d.set_command_lock(locked) for d in targets})

    def _reload_roster(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"roster": self.reload_roster()}
        except RosterError as exc:
            raise CommandError(f"roster not reloaded, keeping the previous one: {exc}") from None

    def _buzz(self, request: dict[str, Any]) -> dict[str, Any]:
        pattern = request.get("pattern")
        if pattern not in BUZZER_PATTERNS:
            raise CommandError(f"pattern must be one of: {', '.join(BUZZER_PATTERNS)}")
        (devices,) = self._targets(request, one=True)
        return self._wait({devices.gate.gate_id: devices.buzz(str(pattern))})
