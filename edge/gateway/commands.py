"""`edge gateway run`: the gateway service under systemd (READY, WATCHDOG, SIGHUP reload, SIGTERM stop). Thin: the
work is in service.py and edge/ops/gateway_ops.py."""

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
    from edge.ops.gateway_ops import GatewayOps

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
