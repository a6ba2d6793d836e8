"""The gateway's configuration: one typed model, unknown keys rejected, every field documented.

Relative paths are resolved against the directory of the config file by the loader.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""Identifiers that appear in MQTT topics: no '/', '+', '#', spaces."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class BrokerTlsConfig(_Section):
    """The gateway's identity on the closed broker (edge/security/pki.py; `edge provision` writes these)."""

    ca: str = Field(description="The site CA certificate (PEM): the broker's certificate must chain to it.")
    cert: str = Field(description="This gateway's certificate (PEM), CN = gateway_id, issued with role gateway.")
    key: str = Field(
        description=(
            "This gateway's private key (PEM, 0600). Under systemd: ${CREDENTIALS_DIRECTORY}/client.key"
            " (LoadCredential=)."
        )
    )
    crl: str | None = Field(
        None,
        description=(
            "The site's CRL (PEM): command signers whose certificates are revoked are refused. Null: no"
            " revocation check for signers (the broker still refuses revoked clients)."
        ),
    )


class BrokerConfig(_Section):
    """MQTT broker the gateway publishes to."""

    host: str = Field("127.0.0.1", description="Broker host name or IP address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker TCP port.")
    username: str | None = Field(None, description="MQTT user name; null for anonymous.")
    password: str | None = Field(
        None,
        description="MQTT password. Never write it here: use a placeholder such as ${EDGE_MQTT_PASSWORD}.",
    )
    client_id: str | None = Field(None, description="MQTT client id; default 'edge-gw-<site_id>-<gateway_id>'.")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive; the broker's LWT fires after 1.5x this.")
    topic_prefix: str = Field("edge/v1", pattern=r"^[A-Za-z0-9_/-]+[^/]$", description="Root of every topic.")
    max_inflight: int = Field(
        20,
        ge=1,
        le=1000,
        description="Check-ins published but not yet confirmed (PUBACK, then the collector's receipt) at any time.",
    )
    receipts: bool = Field(
        True,
        description=(
            "Keep each check-in in the outbox until the collector's receipt says it is committed (end-to-end"
            " acknowledgement). Off: the broker's PUBACK is enough (a collector of another make, no receipts)."
        ),
    )
    receipt_timeout_s: float = Field(
        15.0, gt=0, le=3600, description="Publish a check-in again (same event_id) when its receipt is this late."
    )
    require_subscriber: bool = Field(
        True,
        description=(
            "Keep an event in the outbox when the broker answers 'no matching subscribers' (MQTT 5 reason 0x10):"
            " no collector was there to take it. Retried with backoff."
        ),
    )
    tls: BrokerTlsConfig | None = Field(
        None, description="TLS with this gateway's client certificate. Required unless insecure_plaintext is true."
    )
    insecure_plaintext: bool = Field(
        False,
        description=(
            "Talk plaintext MQTT without a certificate (a lab broker only). Anyone on the network can then read"
            " and forge check-ins and commands; a warning is logged at every start."
        ),
    )

    @model_validator(mode="after")
    def _secure_unless_told(self) -> BrokerConfig:
        if self.tls is None and not self.insecure_plaintext:
            raise ValueError(
                "broker.tls (ca, cert, key) is required: the broker is closed by default."
                " Set broker.insecure_plaintext: true only for a lab broker"
            )
        if self.tls is not None and self.insecure_plaintext:
            raise ValueError("broker.tls and broker.insecure_plaintext: true exclude each other")
        return self


class CommandsConfig(_Section):
    """Remote commands (open_gate, lock_down, ...): who may send them and for how long a request stays valid."""

    max_skew_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description=(
            "A signed command whose issued_at is further than this from the gateway's clock is refused (stale or"
            " from the future); its nonce is remembered at least twice this long, across restarts."
        ),
    )
    require_signature: bool = Field(
        True,
        description=(
            "Refuse commands without a valid Ed25519 signature by an operator or server identity of the site CA"
            " (broker.tls.ca). Only with broker.insecure_plaintext may this be false."
        ),
    )
    max_payload_bytes: int = Field(
        16384, ge=256, le=262144, description="Command and receipt payloads larger than this are refused unread."
    )


class CameraConfig(_Section):
    """One face camera."""

    id: str = Field(pattern=IDENT, description="Camera id, unique on the gateway.")
    source: str = Field(
        description=(
            "OpenCV source: a device index ('0' for /dev/video0), a video file path, or an rtsp:// / http:// URL."
        )
    )
    loop: bool = Field(False, description="Video files only: start again at the end instead of stopping.")
    realtime: bool = Field(
        True,
        description="Video files only: play at the file's frame rate (true) or as fast as recognition goes (false).",
    )
    width: int | None = Field(None, ge=16, description="Devices only: requested capture width in pixels.")
    height: int | None = Field(None, ge=16, description="Devices only: requested capture height in pixels.")


class ReaderConfig(_Section):
    """One RFID card reader on a serial port."""

    id: str = Field(pattern=IDENT, description="Reader id, unique on the gateway.")
    port: str = Field(
        description="pyserial port or URL: '/dev/ttyS0', '/dev/ttyUSB0', 'socket://host:port', 'rfc2217://…'."
    )
    protocol: Literal["rdm6300", "pn532"] = Field(
        "rdm6300",
        description="rdm6300: 125 kHz EM4100 reader sending frames; pn532: ISO 14443A (MIFARE) polled over HSU.",
    )
    baudrate: int = Field(
        9600, ge=300, le=1_000_000, description="Serial speed; default per protocol (RDM6300 9600, PN532 HSU 115200)."
    )

    @model_validator(mode="before")
    @classmethod
    def _protocol_baudrate(cls, data: Any) -> Any:
        if isinstance(data, dict) and "baudrate" not in data and data.get("protocol") == "pn532":
            return {**data, "baudrate": 115200}
        return data

    repeat_suppress_s: float = Field(
        1.5,
        ge=0,
        le=60,
        description="A card held on the reader repeats its frame; repeats within this are ignored.",
    )


Colour = Literal["off", "red", "green", "blue", "amber"]
BuzzerPattern = Literal["off", "short", "long", "alarm"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


class ControllerConfig(_Section):
    """The gate controller (ATmega328P running firmware_bridge/firmware) on a serial port: its Wiegand readers,
    the relay, buzzer, LED, door contact, exit button and tamper switch of this gate."""

    id: str = Field(
        pattern=IDENT, description="Controller id, unique on the gateway; card reads carry '<id>-wiegand-a|b'."
    )
    port: str = Field(
        description="pyserial port or URL of the controller's UART: '/dev/ttyAMA0', '/dev/serial/by-id/…', 'socket://…'."
    )
    baudrate: int = Field(115200, ge=9600, le=1_000_000, description="Serial speed (the firmware runs 115200).")
    relay: int = Field(1, ge=1, le=2, description="The relay a granted check-in pulses (door strike or turnstile).")
    pulse_ms: int = Field(
        3000, ge=100, le=60_000, description="How long a granted check-in (or the exit button) opens it."
    )
    door_held_open_s: int = Field(
        30, ge=1, le=255, description="Door open longer than this: a door_held_open alarm and the buzzer."
    )
    host_timeout_s: int = Field(
        3, ge=1, le=60, description="Silence from the gateway after which the controller enters local mode (locked)."
    )
    command_ttl_s: float = Field(
        1.0, gt=0, le=30, description="A command that cannot reach the controller within this is dropped, not run late."
    )
    granted_led: Colour = Field("green", description="LED colour shown for a granted check-in.")
    denied_led: Colour = Field("red", description="LED colour shown for a denied card or an unknown face.")
    led_ms: int = Field(1500, ge=0, le=60_000, description="How long the decision colour shows (0 = until the next).")
    granted_beep: BuzzerPattern = Field("short", description="Buzzer pattern for a granted check-in.")
    denied_beep: BuzzerPattern = Field("long", description="Buzzer pattern for a denied card or an unknown face.")


class ScheduleWindow(_Section):
    """A period in which the gate opens for granted check-ins."""

    days: list[Weekday] = Field(min_length=1, description="Days it applies to: mon … sun.")
    start: str = Field(pattern=HHMM, description="Opening time, 'HH:MM' (local time of the schedule).")
    end: str = Field(pattern=HHMM, description="Closing time, 'HH:MM' (up to '24:00'), later than start.")

    @model_validator(mode="after")
    def _start_before_end(self) -> ScheduleWindow:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be later than start {self.start} (split a window across midnight)")
        return self


class ScheduleConfig(_Section):
    """When the gate may open. Outside every window the controller is locked down (the exit button still works);
    check-ins are still recorded: attendance is what happened, the door is what is allowed. Evaluated on the
    gateway, so it keeps working while the broker or the network is down."""

    open: list[ScheduleWindow] = Field(min_length=1, description="Windows in which granted check-ins open the gate.")
    timezone: str | None = Field(
        None, description="IANA time zone, e.g. 'Europe/Berlin'; null: the gateway's local time."
    )

    @model_validator(mode="after")
    def _known_zone(self) -> ScheduleConfig:
        if self.timezone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {self.timezone!r} (IANA names such as 'Europe/Berlin')") from None
        return self


class GateConfig(_Section):
    """One lane of a gate: a direction, its cameras and its readers. A gate with separate in and out lanes is two
    entries."""

    id: str = Field(pattern=IDENT, description="Gate/lane id, carried in every check-in as 'gate'.")
    direction: Literal["in", "out"] = Field(description="'in' for arrivals, 'out' for departures.")
    mode: Literal["card", "face", "card_or_face", "card_and_face"] = Field(
        "card_or_face",
        description=(
            "What identifies a person here: a card, a face, either, or both (card_and_face: a tap opens"
            " policy.card_face_window_s in which the face must match the card holder)."
        ),
    )
    cameras: list[CameraConfig] = Field(default_factory=list, description="Face cameras watching this lane.")
    readers: list[ReaderConfig] = Field(default_factory=list, description="Card readers on this lane.")
    controller: ControllerConfig | None = Field(
        None, description="The gate controller driving this lane's hardware (its Wiegand readers count as readers)."
    )
    schedule: ScheduleConfig | None = Field(None, description="Opening hours; null: the gate may open at any time.")

    @model_validator(mode="after")
    def _inputs_match_mode(self) -> GateConfig:
        has_cards = bool(self.readers) or self.controller is not None
        if self.schedule is not None and self.controller is None:
            raise ValueError("a schedule locks the gate through its controller: add 'controller'")
        if self.mode == "card" and not has_cards:
            raise ValueError("mode 'card' needs at least one reader (or a controller)")
        if self.mode == "face" and not self.cameras:
            raise ValueError("mode 'face' needs at least one camera")
        if self.mode == "card_and_face" and not (self.cameras and has_cards):
            raise ValueError("mode 'card_and_face' needs at least one camera and one reader")
        if not has_cards and not self.cameras:
            raise ValueError("a gate needs at least one camera or reader")
        return self


class RecognitionConfig(_Section):
    """Face recognition on the gateway: the core's schedule and the open-set decision rule.

    Defaults come from the curves measured with `edge bench accuracy` and `edge bench recognition`
    (docs/recognition.md)."""

    model: Literal["sface", "dlib"] = Field(
        "sface",
        description=(
            "Recognition backend: sface (YuNet detector + SFace embedding via OpenCV DNN, model files from"
            " scripts/fetch_models.sh) or dlib (HOG + dlib ResNet). A gallery works only with the model it was made by."
        ),
    )
    threshold: float | None = Field(
        None,
        gt=0,
        lt=2,
        description=(
            "Largest fused face distance accepted as a match; empty: the model's measured default, tightened with the"
            " gallery's size (sface 1.020, i.e. cosine 0.48, up to 150 people and 0.055 less per tenfold more;"
            " dlib 0.38 and 0.018 less per tenfold more). A value set here is used as is at every gallery size."
            " Curves in docs/recognition.md."
        ),
    )
    margin: float | None = Field(
        None,
        ge=0,
        lt=2,
        description=(
            "The nearest person must be at least this much closer than the second-nearest, else unknown;"
            " empty: the model's default (sface 0.06, dlib 0.08)."
        ),
    )
    verify_threshold: float | None = Field(
        None,
        gt=0,
        lt=2,
        description=(
            "card_and_face gates: largest distance between the face and the card holder's templates;"
            " empty: the model's default (sface 1.077, dlib 0.45)."
        ),
    )
    detect_max_width: int | None = Field(
        640,
        ge=160,
        description=(
            "sface: detect on a copy of the frame scaled down to this width (YuNet still finds 80 px faces at"
            " half size); empty: full size. dlib ignores it."
        ),
    )
    one_at_a_time: bool = Field(
        True,
        description=(
            "One person at a time per lane: the largest face takes the lane until its track ends and only it is"
            " encoded and decided; faces beside or behind it (bystanders, the queue) wait for the lane."
        ),
    )
    min_face_px: int | None = Field(
        None,
        ge=40,
        description=(
            "Faces narrower than this (detector box) are tracked but never encoded; empty: the model's own"
            " (dlib 80: HOG finds faces from ~80 px; sface 64: YuNet's box for the same face is ~15 % narrower)."
        ),
    )
    full_detect_every: int | None = Field(
        None,
        ge=1,
        le=30,
        description=(
            "Whole-frame detection every n-th frame; in between only around tracked faces. Empty: the model's"
            " own (sface 5: YuNet's windows are cheap and reliable; dlib 3)."
        ),
    )
    detect_upsample: int = Field(0, ge=0, le=2, description="HOG upsampling: finds faces half as wide, 4x slower.")
    min_encodings: int = Field(2, ge=1, le=10, description="Encodings of a track that must agree before a match.")
    max_encodings: int = Field(3, ge=1, le=10, description="Most encodings computed per track (per pass).")
    encode_gap_frames: int = Field(
        3, ge=1, le=60, description="Frames between two encodings of one track (the best face in between is used)."
    )
    encoder_processes: int = Field(
        1,
        ge=1,
        le=8,
        description="Encoder worker processes shared by all cameras (cores - 1 is a good start: 1 here, 3 on a Pi 4).",
    )
    frame_queue: int = Field(
        2,
        ge=1,
        le=30,
        description="Frames buffered per live camera; when recognition is behind, the oldest is dropped.",
    )

    @model_validator(mode="after")
    def _encodings_consistent(self) -> RecognitionConfig:
        if self.min_encodings > self.max_encodings:
            raise ValueError("min_encodings must not exceed max_encodings")
        return self


class PolicyConfig(_Section):
    """How observations become check-ins."""

    debounce_s: float = Field(
        60, ge=0, description="One check-in per person per this many seconds, whatever the method or gate."
    )
    unknown_debounce_s: float = Field(
        10,
        ge=0,
        description="One 'unknown' face or unknown-card event per gate (per card) per this many seconds.",
    )
    card_face_window_s: float = Field(
        5.0,
        gt=0,
        le=60,
        description="card_and_face gates: after a tap, how long the holder's face has to match before 'denied'.",
    )


class StorageConfig(_Section):
    """Gateway-local state."""

    database: str = Field(
        "var/gateway.sqlite",
        description="SQLite file holding the outbox, the sequence counter and the roster.",
    )
    outbox_max_events: int = Field(
        1_000_000,
        ge=100,
        description="Alarm when the outbox holds this many check-ins (none is ever dropped for it: see README).",
    )
    outbox_max_mb: float = Field(
        1024, gt=0, description="Alarm when the outbox's check-ins take this many MB of payload."
    )


class RosterConfig(_Section):
    """Who may pass: a CSV with header person_id,name,class,card_uid (card_uid optional)."""

    path: str = Field("roster.csv", description="Roster CSV, loaded into the gateway database at start.")


class GalleryConfig(_Section):
    """Enrolled face templates."""

    path: str = Field("models/gallery.npz", description="Gallery file written by 'edge enroll' (AES-256-GCM sealed).")
    key_file: str = Field(
        "/etc/edge/gallery.key",
        description="The gallery's 256-bit key (64 hex characters, mode 0600; 'edge gallery keygen' makes one).",
    )
    key_credential: str | None = Field(
        None,
        description="Read the key from this systemd credential ($CREDENTIALS_DIRECTORY/<name>) instead of key_file.",
    )


class HealthConfig(_Section):
    """Periodic health reports on the health topic."""

    interval_s: float = Field(30, ge=0.2, le=3600, description="Seconds between health reports.")


class MetricsConfig(_Section):
    """Prometheus metrics on http://host:port/metrics, served by `edge gateway run` (names in README)."""

    enabled: bool = Field(True, description="Serve the metrics endpoint. A port already in use is logged, not fatal.")
    host: str = Field(
        "127.0.0.1",
        description=(
            "Address to bind. 127.0.0.1 keeps it on the gateway (a local agent or an SSH tunnel scrapes it);"
            " 0.0.0.0 or the school LAN address lets a central Prometheus scrape it (firewall it)."
        ),
    )
    port: int = Field(9108, ge=0, le=65535, description="TCP port (0: any free port, for tests).")


class GatewayConfig(_Section):
    """A whole gateway."""

    site_id: str = Field(pattern=IDENT, description="School/site id; part of every topic and event.")
    gateway_id: str = Field(pattern=IDENT, description="This gateway's id, unique within the site.")
    gates: list[GateConfig] = Field(min_length=1, description="The lanes this gateway controls.")
    broker: BrokerConfig = Field(description="MQTT broker.")
    commands: CommandsConfig = Field(default_factory=CommandsConfig, description="Remote commands.")
    storage: StorageConfig = Field(default_factory=StorageConfig, description="Local state.")
    roster: RosterConfig = Field(default_factory=RosterConfig, description="Roster CSV.")
    gallery: GalleryConfig = Field(default_factory=GalleryConfig, description="Face gallery.")
    recognition: RecognitionConfig = Field(
        default_factory=RecognitionConfig,
        description="Face recognition.",
    )
    policy: PolicyConfig = Field(default_factory=PolicyConfig, description="Decision policy.")
    health: HealthConfig = Field(default_factory=HealthConfig, description="Health reports.")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="Prometheus metrics endpoint.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Logging level.")
    clock_check: Literal["kernel", "assume_synced", "assume_unsynced"] = Field(
        "kernel",
        description=(
            "How to know the wall clock is NTP-synchronised: ask the kernel (adjtimex), or assume. Events decided"
            " while unsynchronised carry clock_unsynced: true."
        ),
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> GatewayConfig:
        def dupes(ids: list[str]) -> set[str]:
            return {i for i in ids if ids.count(i) > 1}

        for what, ids in (
            ("gate", [g.id for g in self.gates]),
            ("camera", [c.id for g in self.gates for c in g.cameras]),
            ("reader", [r.id for g in self.gates for r in g.readers]),
            ("controller", [g.controller.id for g in self.gates if g.controller]),
            ("controller port", [g.controller.port for g in self.gates if g.controller]),
        ):
            if d := dupes(ids):
                raise ValueError(f"duplicate {what} id(s): {', '.join(sorted(d))}")
        if not self.commands.require_signature and not self.broker.insecure_plaintext:
            raise ValueError("commands.require_signature: false is allowed only with broker.insecure_plaintext: true")
        return self

    @property
    def mqtt_client_id(self) -> str:
        return self.broker.client_id or f"edge-gw-{self.site_id}-{self.gateway_id}"
