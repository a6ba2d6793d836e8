"""`edge gateway run`: the gateway service under systemd (READY, WATCHDOG, SIGHUP reload, SIGTERM stop); `edge
doctor` (check this gateway, each problem with its fix). Thin: the work is in service.py, ops.py and doctor.py."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from edge.cli_common import echo_issues, stop_on_signals
from edge.logs import setup_logging

log = logging.getLogger(__name__)


@click.group()
def gateway() -> None:
    """Run the gate gateway."""


@gateway.command("run")
@click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gateway config file (see config.yaml).",
)
@click.pass_context
def gateway_run(ctx: click.Context, config_path: Path) -> None:
    """Run the gateway until SIGTERM / SIGINT."""
    from edge.config import load_config
    from edge.config.loader import ConfigError
    from edge.gateway.service import Gateway
    from edge.roster import RosterError

    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        echo_issues(exc)
        click.echo("refusing to start on an invalid config", err=True)
        sys.exit(2)
    setup_logging(ctx.obj["log_level"] or cfg.log_level)
    from edge.gateway.ops import GatewayOps

    ops = GatewayOps(cfg)  # sd_notify READY/WATCHDOG/STOPPING and the metrics endpoint (edge/ops)
    gw = Gateway(cfg, heartbeats=ops.heartbeats)
    ops.attach(gw)
    stop_on_signals(gw.stop_event)
    try:
        gw.start()
    except RosterError as exc:
        log.error("roster problem, refusing to start:\n%s", exc)
        ops.close()
        sys.exit(2)
    ops.ready()
    reload = threading.Event()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        reload.set()
        gw.stop_event.set()

    signal.signal(signal.SIGHUP, on_hup)
    try:
        while True:
            gw.run_until_stopped()
            if not reload.is_set():
                break
            reload.clear()
            gw.stop_event.clear()
            log.info("SIGHUP: reloading %s", config_path)
            ops.reloading()
            gw.reload(config_path)
            ops.reloaded()
    finally:
        ops.stopping()
        gw.stop()
        ops.close()


@click.command("doctor")
@click.option(
    "-c",
    "--config",
    "config_path",
    default="/etc/edge/config.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The gateway's config.",
)
@click.option("--no-devices", is_flag=True, help="Skip cameras, readers and controllers (busy while the service runs).")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds each device or the broker has to answer.")
@click.option("--strict", is_flag=True, help="Exit 2 on warnings too.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.option(
    "--probe/--no-probe",
    default=None,
    help="Publish a probe as this gateway to see what the broker accepts (default: only when the gateway is not"
    " running here — the probe connects as the gateway and would replace its session).",
)
def doctor_cmd(
    config_path: Path, no_devices: bool, timeout: float, strict: bool, as_json: bool, probe: bool | None
) -> None:
    """Check this gateway: config and files, camera, readers, controllers, broker and identity, clock, disk,
    roster and gallery versions, outbox. Each problem comes with a fix. Exit 0 fine, 1 a check failed."""
    import dataclasses
    import json

    from edge.gateway.doctor import Limits, exit_code, run_checks

    checks = run_checks(config_path, devices=not no_devices, limits=Limits(timeout_s=timeout), probe=probe)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(c) for c in checks], indent=2))
    else:
        for c in checks:
            click.echo(c.line())
    sys.exit(exit_code(checks, strict))
