"""Remote commands over MQTT: {prefix}/{site}/{gateway}/cmd/{name} -> {prefix}/{site}/{gateway}/cmd/{name}/result.

Request (JSON object, QoS 1):  {"request_id": "r-42", "gate": "main-in", ...arguments}
Result  (JSON object, QoS 1):  {"request_id": "r-42", "command": "open_gate", "ok": true, "status": "done",
                                "detail": {...}, "at": "…"}  or  {..., "ok": false, "error": "…",
                                "error_code": "unknown_gate", "error_fields": {"gate": "x", "gates": "main-in"}}

A failed result says what went wrong twice: `error`, an English sentence for logs, the CLI and centres older than
the error codes, and `error_code` + `error_fields` (strings), which the centre's web app turns into the office's
language from its catalogs (key gates.error.<code>; an unknown code is shown as `error`). The codes are a contract:
ERROR_CODES lists them, a code is never reused with another meaning, and a new one is only added.

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


ERROR_CODES = frozenset(
    {
        "request_too_large", "busy", "malformed", "unknown_command", "unknown_arguments", "refused", "unknown_gate",
        "no_gate_controller", "which_gate", "gate_failed", "bad_ms", "gate_locked", "roster_not_reloaded",
        "bad_pattern",
    }
)  # fmt: skip
"""Every error_code a gateway sends; the centre's catalogs have the words of each (tests/test_web_gates.py)."""


class CommandError(Exception):
    """A refused or failed command: `code` (ERROR_CODES) and its `fields` for the centre's words, the English
    sentence for everyone else."""

    def __init__(self, code: str, message: str, **fields: object) -> None:
        super().__init__(message)
        assert code in ERROR_CODES, code
        self.code = code
        self.fields = {k: str(v) for k, v in fields.items()}


def error_result(request_id: Any, exc: CommandError) -> dict[str, Any]:
    """The failed result of a request: the English sentence, the code and its fields."""
    return {
        "request_id": request_id,
        "ok": False,
        "error": str(exc),
        "error_code": exc.code,
        "error_fields": exc.fields,
    }


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
            self._publish(
                topic[len(self.prefix) :], error_result(None, CommandError("request_too_large", "request too large"))
            )
            return
        try:
            self._inbox.put_nowait((topic, payload))
        except queue.Full:
            self._publish(topic[len(self.prefix) :], error_result(None, CommandError("busy", "busy: try again")))

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
                known = ", ".join(sorted(self.commands))
                raise CommandError("unknown_command", f"unknown command {name!r}; known: {known}", command=name)
            extra = set(request) - COMMON_FIELDS - command.arguments
            if extra:
                names = ", ".join(sorted(extra))
                raise CommandError("unknown_arguments", f"unknown argument(s) for {name}: {names}", arguments=names)
            signer = "unsigned"
            if self.authorizer is not None:
                try:
                    signer = self.authorizer.verify(name, request).name
                except SignatureRefused as exc:
                    log.warning("command %s %r refused: %s", name, request_id, exc)
                    raise CommandError("refused", f"refused: {exc}", why=exc) from None
            log.info("command %s %r signed by %s", name, request_id, signer)
            detail = command.run(request)
            result = {"request_id": request_id, "ok": True, "status": "done", "detail": detail}
            self.handled += 1
        except CommandError as exc:
            result = error_result(request_id, exc)
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
            raise CommandError("request_too_large", f"request larger than {self.max_request_bytes} bytes")
        try:
            request = jsonstrict.loads(payload)
        except jsonstrict.RepeatedKey as exc:
            raise CommandError("malformed", f"malformed request: {exc}", why=exc) from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise CommandError("malformed", f"malformed request: not JSON ({exc})", why=f"not JSON ({exc})") from None
        if not isinstance(request, dict):
            raise CommandError("malformed", "malformed request: a JSON object is expected", why="not a JSON object")
        rid = request.get("request_id")
        if not isinstance(rid, str) or not 1 <= len(rid) <= 128:
            raise CommandError(
                "malformed",
                "malformed request: request_id (a string of 1-128 characters) is required",
                why="request_id",
            )
        gate = request.get("gate")
        if gate is not None and not isinstance(gate, str):
            raise CommandError("malformed", "malformed request: gate must be a string", why="gate")
        return request

    # commands ------------------------------------------------------------------------------------------
    def _targets(self, request: dict[str, Any], *, one: bool) -> list[GateDevices]:
        gate = request.get("gate")
        if gate is not None:
            if gate not in self.gates:
                gates = ", ".join(self.gates)
                raise CommandError(
                    "unknown_gate", f"unknown gate {gate!r}; gates with a controller: {gates or 'none'}", gate=gate,
                    gates=gates,
                )  # fmt: skip
            return [self.gates[gate]]
        if not self.gates:
            raise CommandError("no_gate_controller", "this gateway has no gate controller")
        if one and len(self.gates) > 1:
            gates = ", ".join(self.gates)
            raise CommandError("which_gate", f"which gate? one of: {gates}", gates=gates)
        return list(self.gates.values())

    def _wait(self, results: dict[str, CommandResult]) -> dict[str, Any]:
        statuses = {gate: r.wait(self.wait_s) for gate, r in results.items()}
        failed = {g: s for g, s in statuses.items() if s != "done"}
        if failed:
            said = "; ".join(f"gate {g}: {s}" for g, s in failed.items())
            raise CommandError("gate_failed", said, gates=", ".join(failed), statuses=", ".join(failed.values()))
        return {"gates": sorted(statuses)}

    def _open_gate(self, request: dict[str, Any]) -> dict[str, Any]:
        ms = request.get("ms")
        if ms is not None and (not isinstance(ms, int) or isinstance(ms, bool) or not 100 <= ms <= 60_000):
            raise CommandError("bad_ms", "ms must be an integer from 100 to 60000")
        (devices,) = self._targets(request, one=True)
        if devices.locked:
            gate_id = devices.gate.gate_id
            raise CommandError("gate_locked", f"gate {gate_id} is locked; send release first", gate=gate_id)
        return self._wait({devices.gate.gate_id: devices.open_gate(ms)})

    def _lock(self, request: dict[str, Any], locked: bool) -> dict[str, Any]:
        targets = self._targets(request, one=False)
        return self._wait({d.gate.gate_id: d.set_command_lock(locked) for d in targets})

    def _reload_roster(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"roster": self.reload_roster()}
        except RosterError as exc:
            raise CommandError(
                "roster_not_reloaded", f"roster not reloaded, keeping the previous one: {exc}", why=exc
            ) from None

    def _buzz(self, request: dict[str, Any]) -> dict[str, Any]:
        pattern = request.get("pattern")
        if pattern not in BUZZER_PATTERNS:
            patterns = ", ".join(BUZZER_PATTERNS)
            raise CommandError("bad_pattern", f"pattern must be one of: {patterns}", patterns=patterns)
        (devices,) = self._targets(request, one=True)
        return self._wait({devices.gate.gate_id: devices.buzz(str(pattern))})
