"""`edge doctor`: is this gateway able to do its job? Each check says what it found and, when something is
wrong, what to do about it. Exit code: 0 all fine (warnings allowed), 1 something fails (2 with --strict when
only warnings), so provisioning scripts and monitoring can use it.

The device checks open the devices: with the gateway service running they are busy, and the doctor says so
(stop the service first, or pass --no-devices and read the service's health instead).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from edge.config.model import GatewayConfig

if TYPE_CHECKING:
    from edge.transport.mqtt import MqttSettings

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        tag = {"ok": "[ OK ]", "warn": "[WARN]", "fail": "[FAIL]"}[self.status]
        return f"{tag} {self.name}: {self.detail}" + (f"\n       fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0
    disk_warn_mb: float = 1024.0
    disk_fail_mb: float = 100.0
    outbox_warn_depth: int = 100
    outbox_warn_age_s: float = 600.0


def run_checks(
    config_path: Path, *, devices: bool = True, limits: Limits | None = None, probe: bool | None = None
) -> list[Check]:
    from edge.config.loader import ConfigError, ConfigIssue, load_config

    lim = limits or Limits()
    warnings: list[ConfigIssue] = []
    try:
        cfg = load_config(config_path, check_files=True, warnings=warnings)
    except ConfigError as exc:
        return [
            Check("config", "fail", str(issue), "edit the line named; `edge config validate` re-checks")
            for issue in exc.issues
        ]
    out = [Check("config", "ok", f"{config_path} valid; the files the gateway needs are present")]
    out += [Check("config", "warn", str(w), "see the message") for w in warnings]
    if devices:
        out += list(_cameras(cfg, lim))
        out += list(_readers(cfg, lim))
        out += list(_controllers(cfg, lim))
    out.append(_broker(cfg, lim, probe))
    out.append(_identity(cfg))
    out.append(_clock(cfg))
    out.append(_disk(cfg, lim))
    out += list(_versions(cfg))
    out.append(_outbox(cfg, lim))
    return out


def exit_code(checks: list[Check], strict: bool = False) -> int:
    if any(c.status == "fail" for c in checks):
        return 1
    if strict and any(c.status == "warn" for c in checks):
        return 2
    return 0


# devices ----------------------------------------------------------------------------------------------
BUSY_FIX = "is edge-gateway running? `sudo systemctl stop edge-gateway` first, or run `edge doctor --no-devices`"


def _in_thread(fn: Callable[[], str], timeout_s: float) -> tuple[str | None, BaseException | None]:
    """Run a device probe that may block (an RTSP open, a serial handshake) with a time limit."""
    result: list[str] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # reported, never raised out of the doctor
            error.append(exc)

    t = threading.Thread(target=body, name="doctor-probe", daemon=True)
    t.start()
    t.join(timeout_s)
    if t.is_alive():
        return None, TimeoutError(f"no answer within {timeout_s:.0f}s")
    return (result[0] if result else None), (error[0] if error else None)


def _cameras(cfg: GatewayConfig, lim: Limits) -> Iterator[Check]:
    from edge.camera.opencv_source import OpenCvSource

    for g in cfg.gates:
        for cam in g.cameras:

            def probe(cam: object = cam) -> str:
                src = OpenCvSource(cam, threading.Event())  # type: ignore[arg-type]
                src.open()
                try:
                    for _ in range(30):  # some devices hand out a few empty frames first
                        frame = src.read()
                        if frame is not None and frame.image is not None and frame.image.size:
                            h, w = frame.image.shape[:2]
                            return f"{cam.source} delivers frames ({w}x{h})"  # type: ignore[attr-defined]
                    raise RuntimeError("opened but delivered no frame")
                finally:
                    src.close()

            detail, err = _in_thread(probe, lim.timeout_s)
            if err is None and detail is not None:
                yield Check(f"camera {cam.id}", "ok", detail)
            else:
                yield Check(
                    f"camera {cam.id}",
                    "fail",
                    f"{cam.source}: {err}",
                    "check the cable and `v4l2-ctl --list-devices` (USB), the URL and password (RTSP), or the"
                    f" file path; a device in use: {BUSY_FIX}",
                )


def _readers(cfg: GatewayConfig, lim: Limits) -> Iterator[Check]:
    import serial

    for g in cfg.gates:
        for r in g.readers:

            def probe(port: str = r.port, baud: int = r.baudrate, kind: str = r.protocol.upper()) -> str:
                s = (
                    serial.serial_for_url(port, baudrate=baud, timeout=0.2, exclusive=True)
                    if port.startswith("/dev/")
                    else serial.serial_for_url(port, baudrate=baud, timeout=0.2)
                )
                s.close()
                return f"{port} opens at {baud} baud (an {kind} speaks only when a card is presented)"

            detail, err = _in_thread(probe, lim.timeout_s)
            if err is None and detail is not None:
                yield Check(f"reader {r.id}", "ok", detail)
            else:
                yield Check(
                    f"reader {r.id}",
                    "fail",
                    f"{r.port}: {err}",
                    "check the wiring and the port name (`ls -l /dev/serial*`), that the user is in group dialout,"
                    f" the UART is enabled (raspi-config: serial port on, console off); busy: {BUSY_FIX}",
                )


def _controllers(cfg: GatewayConfig, lim: Limits) -> Iterator[Check]:
    from firmware_bridge.controller import GateController

    for g in cfg.gates:
        c = g.controller
        if c is None:
            continue
        ctl = GateController(c.id, c.port, lambda _e: None, baudrate=c.baudrate)
        ctl.start()
        try:
            up = ctl.link.up.wait(lim.timeout_s)
            version = ".".join(map(str, ctl.link.peer_version or ()))
            error = ctl.last_error
        finally:
            ctl.stop()
        if up:
            yield Check(f"controller {c.id}", "ok", f"{c.port} answers: firmware {version or '?'}")
        else:
            yield Check(
                f"controller {c.id}",
                "fail",
                f"{c.port}: no handshake within {lim.timeout_s:.0f}s ({error or 'silent'})",
                "check power and the USB cable, flash the firmware (`scripts/flash_firmware.sh --port …`);"
                f" busy: {BUSY_FIX}",
            )


# network and identity ---------------------------------------------------------------------------------
def _broker(cfg: GatewayConfig, lim: Limits, probe: bool | None = None) -> Check:
    """What the broker really accepts: a QoS 1 publish with this gateway's identity on a topic it must be allowed
    to write (edge/transport/probe.py); a connection alone proves nothing (the ACL is checked per publish).

    The broker binds the client id to the certificate (edge/security/broker_config.py), so that probe connects AS
    the gateway and would replace a running gateway's session for a moment. `probe=None` (the default) probes only
    when the gateway is not running here (`gateway_running`); while it runs, the check is a TLS handshake with the
    gateway's certificate (CA, name, CRL) and says that publishing rights were not probed. `probe=True` forces it."""
    from edge.contract.topics import GatewayTopics
    from edge.gateway.service import mqtt_transport_for
    from edge.transport.probe import NOT_AUTHORIZED, probe_publish, probe_topic

    topics = GatewayTopics(cfg.broker.topic_prefix, cfg.site_id, cfg.gateway_id)
    settings = mqtt_transport_for(cfg, topics).settings
    tls = settings.tls
    how = "TLS" if tls is not None else "plaintext"
    where = f"{cfg.broker.host}:{cfg.broker.port} ({how})"
    unreachable_fix = (
        "is the broker up and reachable (`nc -vz HOST PORT`)? firewall? for TLS: the CA, certificate and the"
        " broker's name must match (`edge pki show`); a revoked certificate is refused"
    )
    if probe is None:
        probe = tls is None or not gateway_running(cfg)
    if not probe:
        try:
            error = _tls_handshake(settings, lim.timeout_s)
        except Exception as exc:  # a TLS file that cannot be read, a bad host name
            return Check("broker", "fail", f"{where}: {exc}", "check broker.host/port and the TLS files")
        if error is not None:
            return Check(
                "broker", "fail", f"{where}: no TLS session within {lim.timeout_s:.0f}s ({error})", unreachable_fix
            )
        return Check(
            "broker",
            "ok",
            f"{where} completes a TLS handshake with this gateway's certificate; its publishing rights were not"
            " probed because the gateway is running (the probe would replace its session)",
            "to probe them: stop the gateway, then `edge doctor --probe`",
        )
    settings = dataclasses.replace(settings, client_id=f"{cfg.mqtt_client_id}-doctor")
    try:
        result = probe_publish(settings, probe_topic(topics), lim.timeout_s)
    except Exception as exc:  # a TLS file that cannot be read, a bad host name
        return Check("broker", "fail", f"{where}: {exc}", "check broker.host/port and the TLS files")
    if result.accepted:
        status: Status = "warn" if tls is None else "ok"
        fix = "" if tls is not None else "plaintext MQTT: configure broker.tls (`edge provision` writes it)"
        return Check("broker", status, f"{where} accepts this gateway: {result.detail}", fix)
    if result.reason_code == NOT_AUTHORIZED:
        return Check(
            "broker",
            "fail",
            f"{where} connects this gateway but {result.detail}: its check-ins would be refused",
            f"the broker's ACL has no rights for {cfg.gateway_id}: on the server, `edge provision gateway"
            f" {cfg.gateway_id} … --broker-dir DIR` (or `edge broker refresh --dir DIR`) rewrites it and reloads"
            " the broker",
        )
    if result.connected:
        return Check("broker", "fail", f"{where}: {result.detail}", "read the broker's log for this client id")
    return Check(
        "broker", "fail", f"{where}: no connection within {lim.timeout_s:.0f}s ({result.detail})", unreachable_fix
    )


def gateway_running(cfg: GatewayConfig) -> bool:
    """Whether this gateway runs on this machine: systemd says edge-gateway is active, or the gateway's pid file
    names a live gateway process (one started by hand; edge/gateway/pidfile.py)."""
    import shutil
    import subprocess

    from edge.gateway import pidfile

    if pidfile.running(cfg.storage.database):
        return True
    if shutil.which("systemctl") is None:
        return False
    try:
        active = subprocess.run(
            ["systemctl", "is-active", "--quiet", "edge-gateway"], check=False, capture_output=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return active.returncode == 0


def _tls_handshake(settings: MqttSettings, timeout_s: float) -> str | None:
    """None when the broker completes a TLS handshake with the gateway's certificate (its CA, its name, and the
    certificate accepted: the closed broker checks the client certificate and the CRL in the handshake), else
    why not. No MQTT CONNECT: the broker binds the client id to the certificate, so a CONNECT would take over
    the running gateway's session (edge/security/broker_config.py)."""
    assert settings.tls is not None
    ctx = ssl.create_default_context(cafile=str(settings.tls.ca))
    ctx.load_cert_chain(str(settings.tls.cert), str(settings.tls.key))
    try:
        with (
            socket.create_connection((settings.host, settings.port), timeout=timeout_s) as raw,
            ctx.wrap_socket(raw, server_hostname=settings.host) as conn,
        ):
            conn.settimeout(min(0.5, timeout_s))
            with contextlib.suppress(TimeoutError):  # TLS 1.3 refuses a certificate after the handshake
                conn.recv(1)
    except ssl.SSLError as exc:
        return f"TLS refused: {exc.reason or exc}"
    except OSError as exc:
        return str(exc) or type(exc).__name__
    return None


def _identity(cfg: GatewayConfig) -> Check:
    tls = getattr(cfg.broker, "tls", None)
    cert = getattr(tls, "cert", None) if tls is not None else None
    if cert is None:
        return Check("identity", "warn", "no client certificate configured", "provision one: `edge provision gateway`")
    try:
        from edge.security.pki import describe, load_cert

        name, role, site = describe(load_cert(Path(cert)))
    except Exception as exc:
        return Check("identity", "fail", f"{cert}: {exc}", "re-issue it: `edge provision gateway NAME --site SITE`")
    want = (cfg.gateway_id, "gateway", cfg.site_id)
    if (name, role, site) != want:
        return Check(
            "identity",
            "fail",
            f"certificate is {name}/{role} of site {site}, config says {cfg.gateway_id}/gateway of {cfg.site_id}",
            "issue this gateway's own certificate (`edge provision gateway …`) or fix site_id/gateway_id",
        )
    return Check("identity", "ok", f"certificate {name}, role {role}, site {site}")


# the machine ------------------------------------------------------------------------------------------
def _clock(cfg: GatewayConfig) -> Check:
    from edge.clock import kernel_clock_synced

    if cfg.clock_check != "kernel":
        return Check("clock", "warn", f"not checked: config clock_check is {cfg.clock_check}", "use 'kernel'")
    synced = kernel_clock_synced()
    if synced is None:
        return Check("clock", "warn", "the kernel cannot be asked on this platform")
    if synced:
        return Check("clock", "ok", "NTP-synchronised (kernel)")
    return Check(
        "clock",
        "fail",
        "not NTP-synchronised: check-ins are marked clock_unsynced",
        "`timedatectl set-ntp true`; `timedatectl timesync-status` shows the server; allow UDP 123 out",
    )


def _disk(cfg: GatewayConfig, lim: Limits) -> Check:
    folder = Path(cfg.storage.database).parent
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    free_mb = usage.free / 1e6
    detail = f"{free_mb:,.0f} MB free of {usage.total / 1e6:,.0f} MB at {probe}"
    if free_mb < lim.disk_fail_mb:
        return Check("disk", "fail", detail, "free space now: check-ins are lost when the disk is full")
    if free_mb < lim.disk_warn_mb:
        return Check("disk", "warn", detail, "free some space (`journalctl --vacuum-size=100M`, old files)")
    return Check("disk", "ok", detail)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _versions(cfg: GatewayConfig) -> Iterator[Check]:
    from edge.gateway.distribution import distributed_roster_path, state_dir_for
    from edge.roster import RosterError, read_roster_csv

    installed = _distributed(state_dir_for(cfg) / "distribution.json")
    roster = distributed_roster_path(cfg) if distributed_roster_path(cfg).is_file() else Path(cfg.roster.path)
    try:
        people = read_roster_csv(roster)
        origin = installed.get("roster", "a local file (no roster from the centre yet)")
        yield Check("roster", "ok", f"{len(people)} people, sha256 {_digest(roster)}, {_mtime(roster)}; {origin}")
    except (RosterError, OSError) as exc:
        yield Check("roster", "fail", str(exc), "fix the lines named (the gateway refuses to start on them)")
    if not any(g.cameras for g in cfg.gates):
        return
    from edge.recognition.gallery import GalleryError
    from edge.recognition.gallery_key import open_gallery

    path = Path(cfg.gallery.path)
    try:
        g = open_gallery(cfg.gallery, cfg.recognition)
        origin = installed.get("gallery", "enrolled here (no gallery from the centre yet)")
        yield Check(
            "gallery",
            "ok",
            f"{len(g)} templates of {len(g.people)} people, model {g.model}, updated {g.updated_at or '?'},"
            f" sha256 {_digest(path)}; {origin}",
        )
    except GalleryError as exc:
        yield Check("gallery", "warn", f"{exc}; the gateway runs on cards alone", "enrol, or copy the gallery and key")


def _distributed(path: Path) -> dict[str, str]:
    """What the centre distributed (edge/gateway/distribution.py's record), as words per kind."""
    try:
        doc = json.loads(path.read_text())
        return {k: f"from the centre: v{v['version']}, installed {v['installed_at']}" for k, v in doc.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _mtime(path: Path) -> str:
    return time.strftime("modified %Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))


def _outbox(cfg: GatewayConfig, lim: Limits) -> Check:
    db = Path(cfg.storage.database)
    if not db.exists():
        return Check("outbox", "ok", "no database yet (the gateway has not run)")
    import sqlite3

    # read-only: the doctor may run as root next to the service, and must not create WAL files it cannot use
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        depth, oldest = conn.execute("SELECT count(*), min(created_at) FROM outbox").fetchone()
    except sqlite3.Error as exc:
        return Check("outbox", "fail", f"{db}: {exc}", "check the file's owner (user edge) and the disk")
    finally:
        conn.close()
    age = None if oldest is None else max(0.0, time.time() - oldest)
    detail = f"{depth} check-in(s) waiting" + (f", oldest {age:,.0f} s" if age is not None else "")
    if depth >= lim.outbox_warn_depth or (age is not None and age >= lim.outbox_warn_age_s):
        return Check(
            "outbox", "warn", detail, "they leave once the broker and a collector confirm them: see the broker check"
        )
    return Check("outbox", "ok", detail)
