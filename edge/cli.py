"""The `edge` command line."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from types import FrameType

import click

from edge import __version__
from edge.config.loader import ConfigError
from edge.logs import setup_logging

log = logging.getLogger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edge")
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    help="Override the log level.",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """Edge attendance: gateway, collector and tools."""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _read_gateways(path: Path) -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line}


def _echo_issues(exc: ConfigError) -> None:
    for issue in exc.issues:
        click.echo(str(issue), err=True)


# config ---------------------------------------------------------------------------------------------
@cli.group()
def config() -> None:
    """Check gateway configuration files."""


@config.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def config_validate(file: Path) -> None:
    """Validate FILE; print every problem with its YAML path and line. Exit 1 when invalid."""
    from edge.config import load_config

    try:
        cfg = load_config(file)
    except ConfigError as exc:
        _echo_issues(exc)
        click.echo(f"{file}: {len(exc.issues)} problem(s)", err=True)
        sys.exit(1)
    n_cam = sum(len(g.cameras) for g in cfg.gates)
    n_rdr = sum(len(g.readers) for g in cfg.gates)
    n_ctl = sum(1 for g in cfg.gates if g.controller)
    click.echo(
        f"{file}: OK (site {cfg.site_id}, gateway {cfg.gateway_id}, {len(cfg.gates)} gate(s), "
        f"{n_cam} camera(s), {n_rdr} reader(s), {n_ctl} controller(s))"
    )


# gateway --------------------------------------------------------------------------------------------
@cli.group()
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
    from edge.gateway.service import Gateway
    from edge.roster import RosterError

    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        _echo_issues(exc)
        click.echo("refusing to start on an invalid config", err=True)
        sys.exit(2)
    setup_logging(ctx.obj["log_level"] or cfg.log_level)
    from edge.ops.gateway_ops import GatewayOps

    ops = GatewayOps(cfg)  # sd_notify READY/WATCHDOG/STOPPING and the metrics endpoint (edge/ops)
    gw = Gateway(cfg, heartbeats=ops.heartbeats)
    ops.attach(gw)
    _stop_on_signals(gw.stop_event)
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


# collector ------------------------------------------------------------------------------------------
@cli.group()
def collector() -> None:
    """Run the central collector."""


@collector.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="EDGE_MQTT_HOST", help="Broker host.")
@click.option("--port", default=1883, show_default=True, envvar="EDGE_MQTT_PORT", type=int, help="Broker port.")
@click.option("--username", default=None, envvar="EDGE_MQTT_USERNAME", help="MQTT user name.")
@click.option("--password", default=None, envvar="EDGE_MQTT_PASSWORD", help="MQTT password (use the env var).")
@click.option(
    "--db",
    "db_path",
    default="var/collector.sqlite",
    show_default=True,
    envvar="EDGE_COLLECTOR_DB",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite database.",
)
@click.option(
    "--id",
    "collector_id",
    default="collector-1",
    show_default=True,
    envvar="EDGE_COLLECTOR_ID",
    help="MQTT client id; unique per collector instance.",
)
@click.option("--group", default="collectors", show_default=True, help="Shared-subscription group.")
@click.option("--topic-prefix", default="edge/v1", show_default=True, help="Root of the topics.")
@click.option(
    "--gateways",
    "gateways_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File listing the known gateways, one site_id/gateway_id per line: others are dead-lettered.",
)
@click.pass_context
def collector_run(
    ctx: click.Context,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
    db_path: Path,
    collector_id: str,
    group: str,
    topic_prefix: str,
    gateways_file: Path | None,
) -> None:
    """Store every gateway's check-ins (shared subscription $share/GROUP/PREFIX/+/+/checkin)."""
    from edge.collector.service import Collector
    from edge.collector.store import CheckinStore

    setup_logging(ctx.obj["log_level"] or "INFO")
    store = CheckinStore(db_path)
    c = Collector(
        store,
        host=host,
        port=port,
        collector_id=collector_id,
        group=group,
        prefix=topic_prefix,
        username=username,
        password=password,
        known_gateways=_read_gateways(gateways_file) if gateways_file else None,
    )
    stop = threading.Event()
    _stop_on_signals(stop)
    c.start()
    while not stop.wait(0.5):
        if c.fatal.is_set():
            break
    c.stop()
    store.close()
    sys.exit(3 if c.fatal.is_set() else 0)


# export / report ------------------------------------------------------------------------------------
def _parse_date(_ctx: click.Context, _p: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD") from None


@cli.command("export")
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Collector database.",
)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--date", "day", default=None, callback=_parse_date, help="Only this day (YYYY-MM-DD).")
@click.option("--tz", default="UTC", show_default=True, help="Time zone in which --date is a calendar day.")
@click.option(
    "--order",
    type=click.Choice(["time", "seq"]),
    default="time",
    show_default=True,
    help="seq: per gateway in decision order (for gateways whose clock was not synchronised).",
)
def export_cmd(db_path: Path, fmt: str, day: date | None, tz: str, order: str) -> None:
    """Print stored check-ins, oldest first."""
    from edge.collector.export import select_checkins, write_export
    from edge.collector.store import CheckinStore

    store = CheckinStore(db_path)
    try:
        write_export(select_checkins(store, day, tz, "seq" if order == "seq" else "time"), sys.stdout, fmt)
    finally:
        store.close()


@cli.command("report")
@click.option("--db", "db_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--roster", "roster_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--date", "day", default=None, callback=_parse_date, help="Only this day (YYYY-MM-DD).")
@click.option("--tz", default="UTC", show_default=True)
def report_cmd(db_path: Path, roster_path: str, day: date | None, tz: str) -> None:
    """Attendance table: who came in, when and how; who is absent."""
    from edge.collector.store import CheckinStore
    from edge.reporting import print_attendance
    from edge.roster import read_roster_csv

    store = CheckinStore(db_path)
    try:
        print_attendance(store, read_roster_csv(roster_path), day, tz)
    finally:
        store.close()


# demo -----------------------------------------------------------------------------------------------
@cli.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's files here (default: a temporary folder, removed at the end).",
)
def demo_cmd(workdir: Path | None) -> None:
    """End-to-end demo on the bundled sample data: broker, collector, gateway, camera, card reader."""
    from edge.demo.runner import run_demo

    sys.exit(run_demo(workdir))


def _register() -> None:
    from edge.bench.commands import bench
    from edge.central.notify.commands import calendar, notify
    from edge.recognition.commands import enroll_cmd, gallery, identify_cmd

    for command in (enroll_cmd, identify_cmd, gallery, bench, calendar, notify):
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="edge")
