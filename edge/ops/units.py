"""systemd units for each role, rendered from the templates in edge/ops/systemd/ with this install's paths.

One template for the gateway (devices, the watchdog) and one for the central processes (no devices at all).
A role whose command does not exist yet is listed with `command=None` and refused with a reason, rather than
shipping a unit that would fail at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).parent / "systemd"


@dataclass(frozen=True)
class Role:
    name: str
    template: str
    command: str | None
    """`edge` arguments; None: not runnable yet (why in `missing`)."""
    watchdog_s: int | None = None
    """WatchdogSec=, only for a process whose work loops beat heartbeats (edge/ops/heartbeat.py)."""
    missing: str = ""
    sends_ready: bool = True
    """Type=notify (READY=1 from edge.ops.supervision); False: Type=exec until the process sends it."""
    pki_role: str = "server"
    """The certificate role it gets from the site PKI (edge/security/pki.py)."""
    credentials: tuple[str, ...] = ()
    """More secrets (files of @CONFIG_DIR@) handed over as systemd credentials of the same name."""


CENTRE_ENV = "centre.env"
"""The ONE environment file of every centre unit (collector, notifier, web app): the store URL, the broker and the
central configuration, written by `edge provision` (edge/ops/provision.py). One file, so the processes of a centre
cannot disagree on which database they use (#20: the notifier once ran on an empty central.sqlite while the
collector and the web app wrote collector.sqlite). A unit refuses to start without it (no '-' prefix)."""

ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("gateway", "edge-gateway.service", "gateway run -c @CONFIG_DIR@/config.yaml", 30, pki_role="gateway"),
        Role(
            "collector",
            "edge-server.service",
            # the store URL and the broker from @CONFIG_DIR@/centre.env (EDGE_STORE_URL, EDGE_MQTT_HOST, …); the
            # parents' notices queued in each batch's transaction from central.yaml; %d: the credentials directory
            "collector run --id @NAME@ --ca @CONFIG_DIR@/tls/ca.crt --cert @CONFIG_DIR@/tls/@IDENTITY@.crt"
            " --key %d/@IDENTITY@.key --notify-config @CONFIG_DIR@/central.yaml",
            # its writer loop beats at least every 0.1 s; 60 s leaves a slow PostgreSQL commit room
            60,
            pki_role="collector",
        ),
        # the store URL from @CONFIG_DIR@/centre.env (EDGE_STORE_URL); channels in central.yaml. Each channel
        # loop beats per round and through its backoff pauses; a send is bounded by the channel's timeout_s
        # (10 s default; SMTP makes several round trips), so 180 s (a loop stuck for 90 s) is never a slow send.
        Role("notifier", "edge-server.service", "notify run -c @CONFIG_DIR@/central.yaml", 180),
        # the web app (#10): READY=1 once uvicorn listens, WATCHDOG=1 while its live-feed loop polls the store
        # (every couple of seconds). The store URL and the broker from @CONFIG_DIR@/centre.env, its address from
        # web.env (EDGE_WEB_HOST/EDGE_WEB_PORT, 127.0.0.1:8080: HTTPS is a reverse proxy's job in front); its own
        # server identity for the Gates page, signed commands and the rosters and galleries it publishes to the
        # gateways by itself (the centre's folder and its key, made by install.sh).
        Role(
            "web",
            "edge-server.service",
            "server run -c @CONFIG_DIR@/central.yaml --store ${EDGE_STORE_URL}"
            " --ca @CONFIG_DIR@/tls/ca.crt --cert @CONFIG_DIR@/tls/@IDENTITY@.crt --key %d/@IDENTITY@.key"
            " --centre @STATE_DIR@/centre --centre-key-file %d/centre.key",
            60,
            credentials=("centre.key",),
        ),
    )
}


def identity_file(role: str, name: str) -> str:
    """The base name of a machine role's certificate and key in @CONFIG_DIR@/tls/ (and of its systemd credential):
    `<role>-<name>`, so a collector, a notifier and a web app installed on one server keep their own identities
    (every bundle once installed its identity as tls/client.{crt,key}: the last one installed replaced the others)."""
    return f"{role}-{name}"


class UnitError(Exception):
    pass


@dataclass(frozen=True)
class Layout:
    """Where things live on the machine the unit runs on."""

    prefix: Path = Path("/opt/edge")
    """The checkout holding .venv (scripts/bootstrap.sh makes it)."""
    config_dir: Path = Path("/etc/edge")
    state_dir: Path = Path("/var/lib/edge")

    @property
    def bin(self) -> Path:
        return self.prefix / ".venv" / "bin" / "edge"


def unit_name(role: str) -> str:
    return f"edge-{role}.service"


def render_unit(role: str, name: str, layout: Layout | None = None) -> str:
    """The unit text for `role` (gateway, collector, …) of the machine called `name`."""
    lay = layout or Layout()
    r = ROLES.get(role)
    if r is None:
        raise UnitError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if r.command is None:
        raise UnitError(f"role {role} cannot be installed yet: {r.missing}")
    if r.watchdog_s is None:
        wd_line = (
            "# no WatchdogSec= yet: set it once the process's work loop beats a heartbeat (edge/ops/supervision.py)"
        )
        wd_note = "no watchdog until its work loop beats a heartbeat."
    else:
        wd_line = f"WatchdogSec={r.watchdog_s}s"
        wd_note = "WATCHDOG=1 only while its work loops beat."
    text = (TEMPLATES / r.template).read_text(encoding="utf-8")
    ready_note = (
        "READY=1 once subscribed / listening"
        if r.sends_ready
        else "Type=exec: it sends no READY=1 yet (add edge.ops.supervision.Supervision, then Type=notify)"
    )
    for key, value in (
        ("@TYPE@", "notify" if r.sends_ready else "exec"),
        ("@READY_NOTE@", ready_note),
        ("@COMMAND@", r.command),
        (
            "@MORE_CREDENTIALS@",
            "\n".join(f"LoadCredential={c}:@CONFIG_DIR@/{c}" for c in r.credentials) or "# (no other credential)",
        ),
        ("@WATCHDOG_LINE@", wd_line),
        ("@WATCHDOG_NOTE@", wd_note),
        ("@ROLE@", role),
        ("@IDENTITY@", identity_file(role, name)),
        ("@NAME@", name),
        ("@BIN@", str(lay.bin)),
        ("@PREFIX@", str(lay.prefix)),
        ("@CONFIG_DIR@", str(lay.config_dir)),
        ("@STATE_DIR@", str(lay.state_dir)),
    ):
        text = text.replace(key, value)
    if "@" in "".join(line for line in text.splitlines() if not line.startswith("#")).replace("@system-service", ""):
        raise UnitError(f"template {r.template} left a placeholder unfilled")
    return text
