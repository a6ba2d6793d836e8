"""The Gates page's view of the gateways, and the signed commands it sends them.

GateMonitor is one MQTT 5 client with the web server's own certificate (role `server`, edge/security/pki.py:
the closed broker lets a server read everything and write only commands). It keeps, per gateway, the retained
status (online / offline / stopped), when it last heard from it, its last health report (outbox depth, fps,
version, alarms) and the alarms raised and cleared on its device topic.

`send` signs a command with the server's key (edge/contract/signing.py: the gateway checks the signer's
certificate against the site CA, its role, freshness and a nonce) and waits for the result with the same
request_id on .../cmd/NAME/result."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from edge import jsonstrict
from edge.contract.signing import sign_command
from edge.contract.topics import DEFAULT_PREFIX, RESERVED_GATEWAY_IDS
from edge.security.pki import TlsFiles, load_private_key
from edge.transport.mqtt import MqttSettings, make_client

log = logging.getLogger(__name__)
MAX_PAYLOAD = 256 * 1024
"""A health report is a few KiB; anything larger is ignored rather than parsed."""
WARN_EVERY_S = 60.0
"""Messages the web app cannot read are counted; a one-line warning with the count at most this often (a
gateway's 3,000 bad results once wrote 6,000 tracebacks, 6.6 MB of log: issue #21)."""


@dataclass
class GatewayState:
    site_id: str
    gateway_id: str
    status: str = "unknown"
    status_at: float | None = None
    last_seen: float | None = None
    health: dict[str, Any] = field(default_factory=dict)
    device_alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Active alarms from the device topic, by 'controller/name'."""
    last_command: dict[str, Any] | None = None
    gate_ids: set[str] = field(default_factory=set)
    """Gates with a controller, learnt from the device topic (the health report names controllers, not gates)."""

    @property
    def alarms(self) -> list[str]:
        """Every alarm still active: the health report's (outbox over cap, storage, loops …) and the device
        topic's (door held open, tamper, controller offline) — each once."""
        reported = self.health.get("alarms")
        out = [str(a)[:200] for a in reported[:50]] if isinstance(reported, list) else []
        for key, ev in sorted(self.device_alarms.items()):
            text = f"{ev.get('name')} ({ev.get('gate') or ev.get('controller') or key})"
            if not any(str(ev.get("name")) in a for a in out):
                out.append(text)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The page's and the API's row (api_models.Gateway): every value the gateway reported coerced to its
        declared type, or None when it is not one — a gateway's message is input, and a health report with
        `"fps": "x"` must show "—", not answer 500."""
        h = self.health
        return {
            "site_id": self.site_id,
            "gateway_id": self.gateway_id,
            "status": self.status,
            "online": self.status == "online",
            "last_seen": self.last_seen,
            "outbox_depth": _count(h.get("outbox_depth")),
            "fps": _finite(h.get("fps")),
            "version": _text(h.get("version")),
            "gallery_version": _distributed_version(h, "gallery"),
            "roster_version": _distributed_version(h, "roster"),
            "clock_synced": h.get("clock_synced") if isinstance(h.get("clock_synced"), bool) else None,
            "alarms": self.alarms,
            "gates": sorted(self.gate_ids),
            "last_error": _text(h.get("last_error"), 500),
        }


def _object(payload: bytes) -> dict[str, Any]:
    """A gateway's JSON object (strict: a repeated key is refused), or ValueError."""
    data = jsonstrict.loads(payload)
    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}, not an object")
    return data


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _finite(value: Any) -> float | None:
    """A number JSON can carry back (Python's json reads NaN and Infinity; the response may not hold them)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _text(value: Any, limit: int = 100) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _distributed_version(health: dict[str, Any], kind: str) -> int | None:
    """The version of the gallery / roster the centre distributed, as the gateway's health reports it
    (edge/gateway/distribution.py snapshot: {"gallery": {"version": …}, …}); None for local files."""
    dist = health.get("distribution")
    entry = dist.get(kind) if isinstance(dist, dict) else None
    version = entry.get("version") if isinstance(entry, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


class GateMonitor:
    def __init__(
        self,
        host: str,
        port: int,
        identity: str,
        tls: TlsFiles | None,
        *,
        site_id: str,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.identity = identity
        self.site_id = site_id
        self.prefix = prefix
        self.tls = tls
        self._key = load_private_key(tls.key) if tls is not None else None
        self._cert_pem = tls.cert.read_text() if tls is not None else None
        self._states: dict[tuple[str, str], GatewayState] = {}
        self._pending: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        status = f"{prefix}/servers/{identity}/status"
        self._client = make_client(
            MqttSettings(host, port, f"{identity}-web-{uuid.uuid4().hex[:6]}", tls=tls, will=(status, b"offline"))
        )
        self._status_topic = status
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_a: self._ready.set()
        self._client.on_message = self._on_message
        self._host, self._port = host, port
        self.bad_messages = 0
        """Messages not understood (not JSON, a repeated key, not an object): counted, never fatal."""
        self._warned_at: float | None = None

    # lifecycle -------------------------------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> bool:
        """Connect (paho's network thread; it reconnects by itself). True once subscribed."""
        self._client.connect_async(self._host, self._port)
        self._client.loop_start()
        return self._ready.wait(timeout_s)

    def stop(self) -> None:
        try:
            self._client.publish(self._status_topic, b"stopped", qos=1, retain=True)
            self._client.disconnect()
        finally:
            self._client.loop_stop()

    @property
    def client(self) -> mqtt.Client:
        """The one MQTT connection of this server's identity (the enrolment link publishes galleries over it)."""
        return self._client

    @property
    def connected(self) -> bool:
        return bool(self._client.is_connected())

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        if getattr(rc, "is_failure", False):
            log.warning("web MQTT connection refused: %s", rc)
            return
        p = self.prefix
        client.subscribe(
            [(f"{p}/+/+/{leaf}", 1) for leaf in ("status", "health", "device")] + [(f"{p}/+/+/cmd/+/result", 1)]
        )
        client.publish(self._status_topic, b"online", qos=1, retain=True)

    # messages --------------------------------------------------------------------------------------------------
    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self.handle(msg.topic, bytes(msg.payload))
        except Exception as exc:  # one bad message must not stop paho's thread, nor fill the log
            self._count_bad(msg.topic, exc)

    def _count_bad(self, topic: str, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self.bad_messages += 1
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY_S:
                return
            self._warned_at, count = now, self.bad_messages
        log.warning(
            "web: %d gateway message(s) not understood so far; the last on %s: %s",
            count,
            topic[:200],
            str(exc)[:200] or type(exc).__name__,
        )

    def handle(self, topic: str, payload: bytes, now: float | None = None) -> None:
        if not topic.startswith(self.prefix + "/") or len(payload) > MAX_PAYLOAD:
            return
        parts = topic[len(self.prefix) + 1 :].split("/")
        if len(parts) < 3 or parts[0] in ("collectors", "servers") or parts[1] in RESERVED_GATEWAY_IDS:
            return
        site, gateway, leaf = parts[0], parts[1], parts[2]
        t = time.time() if now is None else now
        if leaf == "cmd" and len(parts) == 5 and parts[4] == "result":
            self._result(site, gateway, payload)
            return
        if leaf not in ("status", "health", "device") or len(parts) != 3:
            return
        with self._lock:
            state = self._states.setdefault((site, gateway), GatewayState(site, gateway))
            if leaf == "status":
                state.status = payload.decode("utf-8", "replace")[:20] or "unknown"
                state.status_at = t
                if state.status == "online":
                    state.last_seen = t
                return
            data = _object(payload)
            state.last_seen = t
            if leaf == "device" and isinstance(data.get("gate"), str) and len(state.gate_ids) < 32:
                state.gate_ids.add(data["gate"][:64])
            if leaf == "health":
                state.health = data
            elif data.get("kind") == "alarm":
                key = f"{data.get('controller')}/{data.get('name')}"
                if data.get("active"):
                    state.device_alarms[key] = data
                else:
                    state.device_alarms.pop(key, None)
            elif data.get("kind") == "link" and data.get("name") == "controller":
                key = f"{data.get('controller')}/controller_offline"
                if data.get("active"):
                    state.device_alarms.pop(key, None)
                else:
                    state.device_alarms[key] = {**data, "name": "controller_offline"}

    def _result(self, site: str, gateway: str, payload: bytes) -> None:
        data = _object(payload)
        rid = data.get("request_id")
        with self._lock:
            waiting = self._pending.get(str(rid))
            state = self._states.get((site, gateway))
            if state is not None and waiting is not None:
                state.last_command = data
        if waiting is not None:
            waiting[1].append(data)
            waiting[0].set()

    def gateways(self, site_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [s.as_dict() for (site, _g), s in sorted(self._states.items()) if site == site_id]

    def known(self, site_id: str, gateway_id: str) -> bool:
        with self._lock:
            return (site_id, gateway_id) in self._states

    # commands ----------------------------------------------------------------------------------------------
    def send(
        self, site_id: str, gateway_id: str, command: str, request: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        """Sign, publish, wait for the result. Returns the gateway's result, or {"ok": False, "error": …} when
        nothing came back in time (the page shows that; it does not pretend the gate opened)."""
        if self._key is None or self._cert_pem is None:
            return _failed(None, "no_identity", "this server has no signing identity (--pki/--identity)")
        if site_id != self.site_id:
            said = f"this server's identity signs for site {self.site_id}, not {site_id}"
            return _failed(None, "wrong_site", said, site=site_id)
        rid = str(uuid.uuid4())
        body = sign_command(
            site=site_id,
            gateway=gateway_id,
            command=command,
            request={**request, "request_id": rid},
            key=self._key,
            cert_pem=self._cert_pem,
        )
        done = threading.Event()
        box: list[dict[str, Any]] = []
        with self._lock:
            self._pending[rid] = (done, box)
        try:
            info = self._client.publish(
                f"{self.prefix}/{site_id}/{gateway_id}/cmd/{command}", json.dumps(body).encode(), qos=1
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return _failed(rid, "not_connected", "not connected to the broker")
            if not done.wait(timeout_s):
                said = f"no answer from {gateway_id} within {timeout_s:g}s"
                return _failed(rid, "no_answer", said, gateway=gateway_id, seconds=f"{timeout_s:g}")
            return box[0]
        finally:
            with self._lock:
                self._pending.pop(rid, None)


def _failed(request_id: str | None, code: str, error: str, **fields: str) -> dict[str, Any]:
    """A result the centre makes itself when the command never got an answer, in the gateway's result format
    (edge/gateway/remote_commands.py: `error` in English, `error_code` and `error_fields` for the catalogs)."""
    return {"ok": False, "request_id": request_id, "error": error, "error_code": code, "error_fields": fields}
