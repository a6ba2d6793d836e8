"""The gateway process: composition root. Components start in one visible order and stop in reverse.

start: outbox + roster + gallery -> policy timer -> transport + forwarder + device events + remote commands
       -> health -> card readers -> gate controllers + schedule -> cameras (capture, face thread, encoders)
stop:  cameras + face workers + encoders -> card readers -> schedule + remote commands -> gate controllers
       -> policy timer -> drain outbox (bounded) -> health -> device events -> forwarder
       -> transport ('stopped' status) -> databases
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from edge import __version__
from edge.camera.base import FrameSource
from edge.camera.capture import CaptureWorker
from edge.camera.opencv_source import OpenCvSource
from edge.clock import ClockStatus
from edge.config.model import CameraConfig, GatewayConfig
from edge.contract.checkin import CheckIn, rfc3339_ms
from edge.contract.topics import GatewayTopics
from edge.gateway import pidfile
from edge.gateway.command_auth import CommandAuthorizer, NonceStore
from edge.gateway.device_events import DeviceEventPublisher
from edge.gateway.devices import GateDevices
from edge.gateway.distribution import distributed_roster_path, distribution_for
from edge.gateway.face_worker import FaceWorker
from edge.gateway.forwarder import OutboxForwarder
from edge.gateway.health import HealthReporter
from edge.gateway.metrics import GatewayMetrics
from edge.gateway.policy import GateInfo, Observation, Policy
from edge.gateway.recorder import CheckinRecorder
from edge.gateway.remote_commands import RemoteCommands
from edge.gateway.schedule import GateSchedule
from edge.ops.heartbeat import Heartbeats
from edge.outbox import Outbox
from edge.recognition.decision import DecisionRule
from edge.recognition.gallery import Gallery, GalleryError
from edge.recognition.gallery_key import open_gallery
from edge.roster import RosterStore, read_roster_csv
from edge.security.pki import TlsFiles
from edge.transport.base import Transport
from edge.transport.mqtt import MqttSettings, MqttTransport
from firmware_bridge.pn532_reader import Pn532Reader
from firmware_bridge.serial_reader import CardRead, SerialCardReader

log = logging.getLogger(__name__)

SourceFactory = Callable[[CameraConfig, threading.Event], FrameSource]


def mqtt_transport_for(cfg: GatewayConfig, topics: GatewayTopics) -> MqttTransport:
    b = cfg.broker
    settings = MqttSettings(
        host=b.host,
        port=b.port,
        client_id=cfg.mqtt_client_id,
        username=b.username,
        password=b.password,
        keepalive_s=b.keepalive_s,
        will=(topics.status, b"offline"),
        online=(topics.status, b"online"),
        tls=TlsFiles(Path(b.tls.ca), Path(b.tls.cert), Path(b.tls.key)) if b.tls else None,
    )
    if b.tls is None:
        log.warning(
            "INSECURE: broker.insecure_plaintext is set: check-ins, commands and receipts travel in plaintext"
            " and anyone on the network can read and forge them"
        )
    return MqttTransport(settings, max_inflight=b.max_inflight)


def command_authorizer_for(cfg: GatewayConfig) -> CommandAuthorizer | None:
    """Who may command this gateway: operator/server identities of the site CA (None: unsigned commands, only
    allowed by the config model together with insecure_plaintext)."""
    if not cfg.commands.require_signature:
        log.warning("INSECURE: commands.require_signature is false: anyone on the broker can open the gates")
        return None
    nonces = NonceStore(cfg.storage.database, keep_s=2 * cfg.commands.max_skew_s + 60)
    return CommandAuthorizer(
        site=cfg.site_id,
        gateway=cfg.gateway_id,
        ca_path=cfg.broker.tls.ca if cfg.broker.tls else None,
        crl_path=cfg.broker.tls.crl if cfg.broker.tls else None,
        nonces=nonces,
        max_skew_s=cfg.commands.max_skew_s,
    )


@dataclass
class _Camera:
    gate: GateInfo
    capture: CaptureWorker
    worker: FaceWorker | None = None


@dataclass
class Gateway:
    cfg: GatewayConfig
    transport: Transport | None = None
    source_factory: SourceFactory = OpenCvSource
    on_checkin: Callable[[CheckIn], None] | None = None
    drain_timeout_s: float = 5.0
    wall_clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    """The time the gate schedules are evaluated at (tests replace it)."""
    heartbeats: Heartbeats = field(default_factory=Heartbeats)
    """The face threads' and the forwarder's heartbeats: what the systemd watchdog (edge.ops) checks."""
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    """Prometheus metrics; `edge gateway run` serves them (config `metrics`)."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _started_at: float = 0.0
    errors: list[str] = field(default_factory=list)

    def start(self) -> None:
        cfg = self.cfg
        self._started_at = time.monotonic()
        # filled in as they start; the health report may read them from the first connect on
        self.readers: list[tuple[GateInfo, SerialCardReader]] = []
        self.devices: dict[str, GateDevices] = {}
        self.cameras: list[_Camera] = []
        self._camera_cfgs: list[tuple[GateInfo, CameraConfig]] = []
        self._cameras_lock = threading.Lock()
        self.topics = GatewayTopics(cfg.broker.topic_prefix, cfg.site_id, cfg.gateway_id)
        log.info("gateway %s/%s starting (edge %s)", cfg.site_id, cfg.gateway_id, __version__)

        # 1. local state
        pidfile.write(cfg.storage.database)  # edge doctor: the gateway runs here (edge/gateway/pidfile.py)
        self.outbox = Outbox(
            cfg.storage.database,
            max_events=cfg.storage.outbox_max_events,
            max_bytes=int(cfg.storage.outbox_max_mb * 1024 * 1024),
        )
        self.roster = RosterStore(cfg.storage.database)
        roster_path = self.roster_source(cfg)
        people = read_roster_csv(roster_path)
        self.roster.replace_all(people)
        log.info(
            "roster: %d people from %s; outbox holds %d events (last seq %d)",
            len(people),
            roster_path,
            self.outbox.depth(),
            self.outbox.last_seq(),
        )
        self.gallery: Gallery | None = None
        if any(g.cameras for g in cfg.gates):
            try:
                self.gallery = open_gallery(cfg.gallery, cfg.recognition)
                log.info("gallery: %d templates of %d people", len(self.gallery), len(self.gallery.people))
            except GalleryError as exc:
                self._error(f"face recognition disabled: {exc}")
        policy = Policy(
            self.roster,
            debounce_s=cfg.policy.debounce_s,
            unknown_debounce_s=cfg.policy.unknown_debounce_s,
            card_face_window_s=cfg.policy.card_face_window_s,
            verify_threshold=DecisionRule.from_config(cfg.recognition).verify_threshold,
            verifier=self.gallery.verify if self.gallery else None,
        )
        self.recorder = CheckinRecorder(
            policy,
            self.outbox,
            self.topics,
            on_recorded=self._recorded,
            clock=ClockStatus(cfg.clock_check),
            face_model=cfg.recognition.model,
        )
        if not self.recorder.clock.synced():
            log.warning("the wall clock is not NTP-synchronised: check-ins carry clock_unsynced until it is")
        self._timer_stop = threading.Event()
        self._timer = threading.Thread(
            target=self.recorder.run_timer, args=(self._timer_stop,), name="policy-timer", daemon=True
        )
        self._timer.start()

        # 2. network
        if self.transport is None:
            self.transport = mqtt_transport_for(cfg, self.topics)
        self.forwarder = OutboxForwarder(
            self.outbox,
            self.transport,
            max_inflight=cfg.broker.max_inflight,
            require_subscriber=cfg.broker.require_subscriber,
            receipt_topic=self.topics.receipt if cfg.broker.receipts else None,
            receipt_timeout_s=cfg.broker.receipt_timeout_s,
        )
        self.forwarder.heartbeat = self.heartbeats.register("outbox-forwarder")
        self.forwarder.on_latency = self.metrics.on_latency
        self.device_events = DeviceEventPublisher(self.transport, self.topics.device, cfg.site_id, cfg.gateway_id)
        self.commands = RemoteCommands(
            self.transport,
            self.topics.base,
            self.devices,
            self.reload_roster,
            authorizer=command_authorizer_for(cfg),
            max_request_bytes=cfg.commands.max_payload_bytes,
        )
        receipts = self.transport.on_message
        self.distribution = distribution_for(self)  # galleries and rosters from the centre (None: no site CA)

        def route(topic: str, payload: bytes) -> None:
            if self.commands.accepts(topic):
                self.commands.submit(topic, payload)
            elif self.distribution is not None and self.distribution.accepts(topic):
                self.distribution.submit(topic, payload)
            elif receipts is not None:
                receipts(topic, payload)

        self.transport.on_message = route
        self.transport.subscribe(self.commands.topic_filter)
        if self.distribution is not None:
            self.transport.subscribe(self.distribution.topic_filter)
            self.distribution.start()
        self.forwarder.start()
        self.device_events.start()
        self.commands.start()
        self.transport.start()

        # 3. health
        self.health = HealthReporter(self.transport, self.topics.health, cfg.health.interval_s, self.snapshot)
        self.health.start()
        self.metrics.read_levels_from(self.snapshot)
        forward_connection = self.transport.on_connection

        def on_connection(up: bool) -> None:
            if forward_connection is not None:
                forward_connection(up)
            if up:
                self.health.poke()
                self.device_events.wake()

        self.transport.on_connection = on_connection

        # 4. card readers
        for g in cfg.gates:
            info = GateInfo(g.id, g.direction, g.mode)
            for r in g.readers:
                reader_cls = Pn532Reader if r.protocol == "pn532" else SerialCardReader
                reader = reader_cls(
                    r.id,
                    r.port,
                    self._card_handler(info),
                    baudrate=r.baudrate,
                    repeat_suppress_s=r.repeat_suppress_s,
                )
                self.readers.append((info, reader))
                reader.start()

        # 5. gate controllers and their schedules
        for g in cfg.gates:
            if g.controller is not None:
                info = GateInfo(g.id, g.direction, g.mode)
                schedule = GateSchedule(g.schedule) if g.schedule else None
                devices = GateDevices(info, g.controller, self.recorder.submit, self.device_events, schedule)
                devices.tick(self.wall_clock())  # locked from the start when outside its hours
                self.devices[g.id] = devices
                devices.start()
        self._schedule_stop = threading.Event()
        self._schedule = threading.Thread(target=self._run_schedule, name="gate-schedule", daemon=True)
        self._schedule.start()

        # 6. cameras
        camera_cfgs = [(GateInfo(g.id, g.direction, g.mode), c) for g in cfg.gates for c in g.cameras]
        self._camera_cfgs = camera_cfgs
        self._start_cameras_once()
        log.info(
            "gateway started: %d reader(s), %d controller(s), %d camera(s)",
            len(self.readers),
            len(self.devices),
            len(self.cameras),
        )

    def _run_schedule(self) -> None:
        """Body of the "gate-schedule" thread: applies each gate's opening hours once a second."""
        while not self._schedule_stop.wait(1.0):
            for devices in self.devices.values():
                try:
                    devices.tick(self.wall_clock())
                except Exception:
                    log.exception("schedule of gate %s failed", devices.gate.gate_id)

    def reload_roster(self, path: str | Path | None = None) -> str:
        """Swap in the roster CSV at `path` (default: the running config's, or the centre's once one was
        distributed). Raises RosterError and keeps the previous roster when the file is bad. Used by SIGHUP
        reload and the reload_roster command."""
        people = read_roster_csv(path or self.roster_source(self.cfg))
        self.roster.replace_all(people)
        return f"{len(people)} people"

    @staticmethod
    def roster_source(cfg: GatewayConfig) -> Path:
        """The roster the centre distributed (edge/gateway/distribution.py) once there is one, else the config's."""
        distributed = distributed_roster_path(cfg)
        return distributed if distributed.is_file() else Path(cfg.roster.path)

    def use_gallery(self, gallery: Gallery) -> None:
        """Swap the gallery in live (reload, distribution); the cameras start if they waited for a first one."""
        first = self.gallery is None
        self.gallery = gallery
        self.recorder.policy.verifier = gallery.verify
        for cam in self.cameras:
            if cam.worker is not None:
                cam.worker.core.gallery = gallery
        if first and not self._stop.is_set():
            self._start_cameras_once()

    def _start_cameras_once(self) -> None:
        """Start the configured cameras if there is a gallery and they are not running (start or first gallery)."""
        with self._cameras_lock:
            if not self.cameras and self._camera_cfgs:
                self._start_cameras(self._camera_cfgs)

    def _start_cameras(self, camera_cfgs: list[tuple[GateInfo, CameraConfig]]) -> None:
        if self.gallery is None:
            return
        from edge.recognition.core import CoreSettings, RecognitionCore
        from edge.recognition.encode_pool import ProcessEncoder

        rc = self.cfg.recognition
        rule = DecisionRule.from_config(rc)
        settings = CoreSettings.from_config(rc)
        for info, cam in camera_cfgs:
            stop = threading.Event()
            capture = CaptureWorker(self.source_factory(cam, stop), stop=stop, queue_size=rc.frame_queue)
            encoder = ProcessEncoder(rc.encoder_processes, model=rc.model)
            core = RecognitionCore(self.gallery, rule, encoder, settings)
            name = capture.source.name
            worker = FaceWorker(
                info,
                capture,
                core,
                encoder,
                submit=self.recorder.submit,
                heartbeat=self.heartbeats.register(f"faces-{name}"),
                on_decision=self.metrics.decision_observer(name),
            )
            self.cameras.append(_Camera(info, capture, worker))
            capture.start()
            worker.start()

    # reload (SIGHUP) ------------------------------------------------------------------------------------
    def reload(self, config_path: str | Path) -> list[str]:
        """Re-read the config: on any error keep running on the old one. The roster and the gallery are swapped
        in place; changes to other sections are reported as needing a restart. Returns what happened."""
        from edge.config import load_config
        from edge.config.loader import ConfigError
        from edge.roster import RosterError

        try:
            new = load_config(config_path)
        except ConfigError as exc:
            refused = [f"reload refused, still running the previous config: {issue}" for issue in exc.issues]
            for m in refused:
                log.error("%s", m)
            return refused
        msgs: list[str] = []
        try:
            msgs.append(f"roster reloaded: {self.reload_roster(self.roster_source(new))}")
        except RosterError as exc:
            msgs.append(f"roster not reloaded, keeping the previous one: {exc}")
        if self.gallery is not None:
            try:
                gallery = open_gallery(new.gallery, self.cfg.recognition)
            except GalleryError as exc:
                msgs.append(f"gallery not reloaded, keeping the previous one: {exc}")
            else:
                self.use_gallery(gallery)
                msgs.append(f"gallery reloaded: {len(gallery)} templates of {len(gallery.people)} people")
        old, fresh = self.cfg.model_dump(), new.model_dump()
        restart = [k for k in fresh if k not in ("roster", "gallery") and fresh[k] != old[k]]
        if restart:
            msgs.append(f"changed, applied at the next restart: {', '.join(restart)}")
        for m in msgs:
            log.log(logging.WARNING if "not reloaded" in m or "restart" in m else logging.INFO, "%s", m)
        return msgs

    def _card_handler(self, gate: GateInfo) -> Callable[[CardRead], None]:
        def handle(read: CardRead) -> None:
            self.recorder.submit(Observation(gate, read.reader_id, "card", read.at_monotonic, card_uid=read.card_uid))

        return handle

    def _recorded(self, event: CheckIn) -> None:
        self.metrics.on_checkin(event)
        devices = self.devices.get(event.gate)
        if devices is not None:
            devices.on_checkin(event)  # queues relay/LED/buzzer commands: never blocks
        self.forwarder.notify()
        if self.on_checkin:
            self.on_checkin(event)

    def _error(self, msg: str) -> None:
        log.error(msg)
        self.errors.append(msg)

    # ---------------------------------------------------------------------------------------------------
    def cameras_finished(self) -> bool:
        """True when every camera is a finite source that has been read to its end."""
        return all(c.worker is not None and c.worker.finished.is_set() for c in self.cameras)

    def run_until_stopped(self) -> None:
        self._stop.wait()

    def request_stop(self) -> None:
        """Ask run_until_stopped() to return (safe from a signal handler)."""
        self._stop.set()

    @property
    def stop_event(self) -> threading.Event:
        return self._stop

    def stop(self) -> None:
        log.info("gateway stopping")
        for cam in self.cameras:
            cam.capture.stop()
            if cam.worker:
                cam.worker.stop()
        for _, reader in self.readers:
            reader.stop()
        self._schedule_stop.set()
        self._schedule.join(2.0)
        self.commands.stop()
        if self.distribution is not None:
            self.distribution.stop()
        for devices in self.devices.values():
            devices.stop()
        self._timer_stop.set()
        self._timer.join(2.0)
        if not self.forwarder.drain(self.drain_timeout_s):
            log.warning(
                "stopping with %d event(s) still in the outbox; they are sent on the next start",
                self.outbox.depth(),
            )
        self.health.stop()
        self.device_events.stop()
        self.forwarder.stop()
        assert self.transport is not None
        self.transport.stop(final=(self.topics.status, b"stopped"))
        self.roster.close()
        self.outbox.close()
        pidfile.remove(self.cfg.storage.database)
        log.info("gateway stopped")

    def alarms(self) -> list[str]:
        """Conditions someone must act on (also in the health report)."""
        out = []
        if self.outbox.over_cap:
            out.append(
                f"outbox_over_cap: {self.outbox.depth()} check-ins / {self.outbox.size_bytes // 1024} KiB waiting"
                " (none dropped; is the broker or the collector down?)"
            )
        for devices in self.devices.values():
            out.extend(devices.alarms())
        out.extend(f"loop_stuck: {loop} without progress" for loop in self.heartbeats.stale())
        if self.distribution is not None:
            out.extend(self.distribution.alarms())
        if self.recorder.lost:
            out.append(
                f"storage_failed: {self.recorder.lost} check-in(s) could not be stored: {self.recorder.last_error}"
            )
        return out

    def snapshot(self) -> dict[str, Any]:
        """The health report."""
        fs = self.forwarder.stats
        errors = [
            e
            for e in (
                fs.last_error,
                getattr(self.transport, "last_error", None),
                *(r.last_error for _, r in self.readers),
                *(d.controller.last_error for d in self.devices.values()),
                *(c.capture.last_error for c in self.cameras),
                *(c.worker.last_error for c in self.cameras if c.worker),
                self.recorder.last_error,
                *self.errors[-1:],
            )
            if e
        ]
        return {
            "schema_version": 1,
            "site_id": self.cfg.site_id,
            "gateway_id": self.cfg.gateway_id,
            "at": rfc3339_ms(),
            "version": __version__,
            "uptime_s": round(time.monotonic() - self._started_at, 1),
            "outbox_depth": self.outbox.depth(),
            "outbox_oldest_age_s": _round(self.outbox.oldest_age_s()),
            "last_seq": self.outbox.last_seq(),
            "published": fs.published,
            "acked": fs.acked,
            "inflight": self.forwarder.inflight,
            "awaiting_receipt": self.forwarder.awaiting_receipt,
            "confirmed": fs.confirmed,
            "checkins_recorded": self.recorder.recorded,
            "checkins_lost_storage": self.recorder.lost,
            "alarms": self.alarms(),
            "distribution": self.distribution.snapshot() if self.distribution is not None else None,
            "clock_synced": self.recorder.clock.synced(),
            "cameras": {
                c.capture.source.name: {
                    "state": c.worker.state if c.worker and c.capture.state != "error" else c.capture.state,
                    "fps": round(c.worker.fps, 1) if c.worker else 0.0,
                    "captured": c.capture.captured,
                    "dropped": c.capture.dropped,
                    "processed": c.worker.frames_seen if c.worker else 0,
                    "decisions": c.worker.decisions if c.worker else 0,
                    "encodings": c.worker.core.stats.encodings if c.worker else 0,
                    "encodings_skipped": c.worker.core.stats.encodings_skipped if c.worker else 0,
                    "decision_latency_ms_p95": _p95(c.worker.latencies_ms) if c.worker else None,
                }
                for c in self.cameras
            },
            "readers": {
                r.reader_id: {
                    "state": r.state,
                    "cards": r.cards_read,
                    "bad_frames": r.bad_frames,
                }
                for _, r in self.readers
            },
            "controllers": {d.cfg.id: d.snapshot() for d in self.devices.values()},
            "device_events_backlog": self.device_events.backlog,
            "device_events_dropped": self.device_events.dropped,
            "fps": round(sum(c.worker.fps for c in self.cameras if c.worker), 1),
            "last_error": errors[0] if errors else None,
        }


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
