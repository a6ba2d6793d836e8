"""The `edge` command line."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from typing import Any

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
    """Validate FILE and the files it names (roster, gallery, keys, TLS); print every problem with its YAML path
    and line. Exit 1 when invalid."""
    from edge.config import load_config
    from edge.config.loader import ConfigIssue

    warnings: list[ConfigIssue] = []
    try:
        cfg = load_config(file, check_files=True, warnings=warnings)
    except ConfigError as exc:
        _echo_issues(exc)
        for w in warnings:
            click.echo(f"warning: {w}", err=True)
        click.echo(f"{file}: {len(exc.issues)} problem(s)", err=True)
        sys.exit(1)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
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
    "--store",
    "--db",
    "store_url",
    default="sqlite:///var/collector.sqlite",
    show_default=True,
    envvar="EDGE_STORE_URL",
    help="sqlite:///PATH, postgresql://USER@HOST/DB (password from PGPASSWORD or ${VAR}), or a SQLite file path.",
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
    help="A fixed list of gateways, one site_id/gateway_id per line (a lab); default: the store's registry, "
    "followed live (`edge school gateway add`, provisioning).",
)
@click.option("--ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Broker CA (TLS).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Our certificate.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Our private key.")
@click.option(
    "--pki",
    "pki_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Site PKI folder: TLS files of --identity, and the allowed gateways (role gateway, not revoked).",
)
@click.option("--identity", default=None, help="Our identity in --pki (default: the --id).")
@click.option(
    "--insecure-plaintext",
    is_flag=True,
    help="Connect without TLS or certificate (a lab broker only: anyone on the network can forge check-ins).",
)
@click.option("--batch-max", default=1000, show_default=True, type=int, help="Check-ins per transaction at most.")
@click.option("--batch-ms", default=5.0, show_default=True, type=float, help="A batch closes this long after it opens.")
@click.option(
    "--metrics",
    "metrics_addr",
    default="127.0.0.1:9109",
    show_default=True,
    envvar="EDGE_METRICS",
    help="Serve Prometheus metrics (edge_collector_*) on HOST:PORT; 'off' to disable.",
)
@click.option(
    "--notify-config",
    "notify_config",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="central.yaml (channels, templates): queue parents' notices in each batch's transaction, for the schools "
    "the store holds (students, guardians, calendar followed live); `edge notify run` sends them.",
)
@click.pass_context
def collector_run(
    ctx: click.Context,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
    store_url: str,
    collector_id: str,
    group: str,
    topic_prefix: str,
    gateways_file: Path | None,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    pki_dir: Path | None,
    identity: str | None,
    insecure_plaintext: bool,
    batch_max: int,
    batch_ms: float,
    metrics_addr: str,
    notify_config: Path | None,
) -> None:
    """Store every gateway's check-ins (shared subscription $share/GROUP/PREFIX/+/+/checkin), in batches."""
    from edge.central.collector.service import BatchSettings, Collector
    from edge.central.collector.witness import GateWitness
    from edge.central.store import open_store

    setup_logging(ctx.obj["log_level"] or "INFO")
    tls, known = _collector_tls(ca, cert, key, pki_dir, identity or collector_id)
    if tls is not None:
        from edge.central.collector.tls_check import check_collector_tls
        from edge.security.pki import PkiError

        try:
            check_collector_tls(tls)  # type: ignore[arg-type]
        except PkiError as exc:
            raise click.UsageError(str(exc)) from None
    if tls is None and not insecure_plaintext:
        raise click.UsageError(
            "the broker is closed by default: give --pki DIR (or --ca/--cert/--key); --insecure-plaintext for a lab"
        )
    if tls is None:
        log.warning("INSECURE: collecting over plaintext MQTT without a certificate (--insecure-plaintext)")
    store = open_store(store_url)
    registry = None
    if gateways_file:
        known = _read_gateways(gateways_file)
    else:
        from edge.central.collector.registry import GatewayRegistry

        registry = GatewayRegistry(store_url, pki_known=known)
        known = registry.start().known()
    hook, schools = _notify_hook(notify_config, store_url) if notify_config else (None, None)
    c = Collector(
        store,
        host=host,
        port=port,
        collector_id=collector_id,
        group=group,
        prefix=topic_prefix,
        username=username,
        password=password,
        known_gateways=known,
        tls=tls,
        batch=BatchSettings(max_events=batch_max, max_wait_ms=batch_ms, receive_maximum=max(4 * batch_max, 100)),
        on_stored=hook,
        witness=GateWitness(store_url, collector_id, topic_prefix),
    )
    if registry is not None:

        def follow(new: set[str] | None) -> None:
            c.known_gateways = new  # one reference swap: the ingest thread reads it per message

        registry.on_change = follow
    stop = threading.Event()
    _stop_on_signals(stop)
    from edge.ops.heartbeat import Heartbeats
    from edge.ops.supervision import Supervision

    # systemd Type=notify: READY=1 once subscribed, WATCHDOG=1 only while the writer loop goes round
    heartbeats = Heartbeats(max_age_s=Supervision.heartbeat_max_age_s())
    c.heartbeat = heartbeats.register("collector-writer")
    sup = Supervision.from_env(heartbeats)
    from edge.ops.server_metrics import serve_collector_metrics

    metrics = serve_collector_metrics(c, metrics_addr)
    c.start()
    while not stop.wait(0.5):
        if c.fatal.is_set():
            break
        if c.subscribed.is_set():
            sup.ready(f"collecting as {collector_id}")  # once
    sup.stopping()
    c.stop()
    if registry is not None:
        registry.stop()
    if schools is not None:
        schools.stop()
    if metrics is not None:
        metrics.stop()
    store.close()
    sys.exit(3 if c.fatal.is_set() else 0)


def _notify_hook(path: Path, store_url: str) -> tuple[Any, Any]:
    """The parents' notifications hook (#9) on the schools the store holds, followed live, with central.yaml's
    channels and templates; a school central.yaml names that the store does not hold stops the start (exit 2)."""
    from edge.central.notify.hook import NotifyHook
    from edge.central.school.live import LiveSchools
    from edge.central.web.db import WebDb
    from edge.config.central import load_central_config

    try:
        cfg = load_central_config(path, sends=False)  # it queues notices; the notifier sends them (its secrets)
    except ConfigError as exc:
        _echo_issues(exc)
        click.echo(f"refusing to start: {path} has problems", err=True)
        sys.exit(2)
    schools = LiveSchools(WebDb(store_url), cfg)
    missing = {s.id: schools.problems[s.id] for s in cfg.schools if s.id not in schools}
    if missing:
        for problems in missing.values():
            for problem in problems:
                click.echo(problem, err=True)
        schools.db.close()
        click.echo("refusing to start: the store does not hold the schools of central.yaml", err=True)
        sys.exit(2)
    return NotifyHook(schools.start(name="collector-schools")), schools


def _collector_tls(
    ca: Path | None, cert: Path | None, key: Path | None, pki_dir: Path | None, identity: str
) -> tuple[object | None, set[str] | None]:
    """(TlsFiles or None, allowed "site/gateway" ids or None) from --ca/--cert/--key or --pki/--identity."""
    if pki_dir is not None:
        from edge.security.pki import Pki, PkiError

        pki = Pki(pki_dir)
        try:
            tls = pki.tls_files(identity)
        except PkiError as exc:
            raise click.UsageError(str(exc)) from None
        known = {f"{i.site}/{i.name}" for i in pki.identities() if i.role == "gateway" and not i.revoked}
        # a school's bridge (a district PKI) carries every gateway of its school, the site it is named after
        known |= {f"{i.name}/*" for i in pki.identities() if i.role == "bridge" and not i.revoked}
        return tls, known
    given = [p for p in (ca, cert, key) if p is not None]
    if not given:
        return None, None
    if ca is None or cert is None or key is None:
        raise click.UsageError("--ca, --cert and --key go together")
    from edge.security.pki import TlsFiles

    return TlsFiles(ca, cert, key), None


# export / report ------------------------------------------------------------------------------------
def _parse_date(_ctx: click.Context, _p: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD") from None


_STORE_OPTION = click.option(
    "--store",
    "--db",
    "store_url",
    required=True,
    envvar="EDGE_STORE_URL",
    help="Collector store: sqlite:///PATH, postgresql://… or a SQLite file path.",
)


@cli.command("export")
@_STORE_OPTION
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--date", "day", default=None, callback=_parse_date, help="Only this day (YYYY-MM-DD).")
@click.option(
    "--tz",
    default=None,
    help="Time zone in which --date is a calendar day; default: the school's when the store holds one, else UTC.",
)
@click.option(
    "--order",
    type=click.Choice(["time", "seq"]),
    default="time",
    show_default=True,
    help="seq: per gateway in decision order (for gateways whose clock was not synchronised).",
)
def export_cmd(store_url: str, fmt: str, day: date | None, tz: str | None, order: str) -> None:
    """Print stored check-ins, oldest first (CSV cells are spreadsheet-safe)."""
    from edge.central.attendance.export import select_checkins, write_export

    store = _open_existing_store(store_url)
    if tz is None:
        tz = _only_school_zone(store_url) or "UTC"
    try:
        write_export(select_checkins(store, day, tz, "seq" if order == "seq" else "time"), sys.stdout, fmt)
    finally:
        store.close()


@cli.command("report")
@_STORE_OPTION
@click.option("--school", default=None, help="The school (site_id); default: the only school in the store.")
@click.option("--date", "day", default=None, callback=_parse_date, help="The day (YYYY-MM-DD); default: today there.")
@click.option("--tz", default=None, help="Show times in this zone (default: the school's; the day stays the school's).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option(
    "--at",
    "at_text",
    default=None,
    help="Judge as at this instant (ISO 8601 with its offset, e.g. 2026-11-24T07:30+07:00); default: now. "
    "Before a class's cut-off its students without an arrival are 'pending'.",
)
def report_cmd(
    store_url: str, school: str | None, day: date | None, tz: str | None, fmt: str, at_text: str | None
) -> None:
    """A school's day from the store, judged as the web app judges it: present / late / absent / excused /
    pending (before the cut-off) / no_school; students enrolled that day; times in the school's zone."""
    from datetime import UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from edge.central.attendance.report import write_attendance
    from edge.central.school.state import load_school, school_ids, school_problem
    from edge.central.web.db import WebDb

    _open_existing_store(store_url).close()
    db = WebDb(store_url)
    try:
        if school is None:
            ids = school_ids(db)
            if len(ids) != 1:
                raise click.UsageError(f"--school: the store holds {', '.join(ids) or 'no school'}")
            school = ids[0]
        state = load_school(db, school)
        if state is None:
            raise click.UsageError(school_problem(db, school) or f"no school {school!r}")
        if tz is not None:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise click.BadParameter(f"unknown time zone {tz!r}", param_hint="--tz") from None
        now = datetime.now(UTC)
        if at_text is not None:
            try:
                now = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
            except ValueError:
                raise click.BadParameter("use ISO 8601, e.g. 2026-11-24T07:30+07:00", param_hint="--at") from None
            if now.tzinfo is None:
                raise click.BadParameter("give the offset, e.g. +07:00 or Z", param_hint="--at")
        the_day = day or now.astimezone(ZoneInfo(state.timezone)).date()
        write_attendance(db, state, the_day, now, tz, fmt)  # type: ignore[arg-type]
    finally:
        db.close()


def _only_school_zone(store_url: str) -> str | None:
    """The time zone of the store's school when it holds exactly one (None: none, several, or no school tables)."""
    from edge.central.web.db import WebDb

    db = WebDb(store_url)
    try:
        rows = db.query("SELECT timezone FROM schools")
    except Exception:  # a store from before the school tables: no school to take a zone from
        return None
    finally:
        db.close()
    return str(rows[0]["timezone"]) if len(rows) == 1 else None


def _open_existing_store(url: str) -> Any:
    """A store to read: a SQLite file must exist (a typo must not create an empty database)."""
    from edge.central.store import open_store, sqlite_path

    if not url.startswith(("postgresql://", "postgres://")) and not Path(sqlite_path(url)).is_file():
        raise click.BadParameter(f"no database at {sqlite_path(url)}", param_hint="--store")
    return open_store(url, auto_migrate=False)


# db -------------------------------------------------------------------------------------------------
@cli.group("db")
def db_group() -> None:
    """Operations on the collector's store: migrate, backup, retention."""


@db_group.command("migrate")
@click.option("--store", "store_url", required=True, envvar="EDGE_STORE_URL", help="sqlite:///PATH or postgresql://…")
def db_migrate(store_url: str) -> None:
    """Apply the pending numbered schema migrations (each once, in its own transaction)."""
    from edge.central.store import open_store

    store = open_store(store_url, auto_migrate=False)
    try:
        before = store.schema_version()
        applied = store.migrate()
        click.echo(f"schema version {before} -> {store.schema_version()}; applied: {', '.join(applied) or 'none'}")
    finally:
        store.close()


@db_group.command("backup")
@click.option("--store", "store_url", required=True, envvar="EDGE_STORE_URL", help="sqlite:///PATH or postgresql://…")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(store_url: str, dest: Path) -> None:
    """A consistent copy while collectors keep writing: SQLite's online backup API; pg_dump -Fc for PostgreSQL."""
    store = _open_existing_store(store_url)
    try:
        store.backup(dest)
    finally:
        store.close()
    click.echo(f"backup written to {dest} (mode 0600)")


@db_group.command("retention")
@click.option("--store", "store_url", required=True, envvar="EDGE_STORE_URL", help="sqlite:///PATH or postgresql://…")
@click.option("--keep-days", required=True, type=click.IntRange(min=1), help="Keep check-ins of the last N days.")
@click.option("--site", default=None, help="Only this school's check-ins (its own retention period).")
def db_retention(store_url: str, keep_days: int, site: str | None) -> None:
    """Delete check-ins older than the retention period: attendance of minors is not kept for ever."""
    from edge.central.store.retention import cutoff_for

    cutoff = cutoff_for(keep_days)
    store = _open_existing_store(store_url)
    try:
        n = store.delete_before(cutoff, site)
    finally:
        store.close()
    click.echo(f"deleted {n} check-in(s) that occurred before {cutoff}" + (f" at {site}" if site else ""))


# demo -----------------------------------------------------------------------------------------------
@cli.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The demo's data folder (kept). Default: ~/.local/state/edge/demo, emptied at each run.",
)
@click.option("--serve", is_flag=True, help="Keep the centre and the web app running at the end, until Ctrl-C.")
def demo_cmd(workdir: Path | None, serve: bool) -> None:
    """A school morning end to end on the bundled data: closed broker, gateway (video, card readers, gate
    controller), collector, notifier, web app, parents' e-mail and webhook receivers."""
    from edge.demo.runner import default_workdir, run_demo

    sys.exit(run_demo(workdir or default_workdir(), serve=serve))


@cli.command("doctor")
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

    from edge.ops.doctor import Limits, exit_code, run_checks

    checks = run_checks(config_path, devices=not no_devices, limits=Limits(timeout_s=timeout), probe=probe)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(c) for c in checks], indent=2))
    else:
        for c in checks:
            click.echo(c.line())
    sys.exit(exit_code(checks, strict))


@cli.command("provision")
@click.argument("role", type=click.Choice(["gateway", "collector", "notifier", "web"]))
@click.argument("name")
@click.option("--site", required=True, help="Site (school) id; the PKI must be this site's.")
@click.option("--server", required=True, help="The broker the machine talks to: HOST or HOST:PORT (TLS, 8883).")
@click.option(
    "--pki",
    "pki_dir",
    required=True,
    envvar="EDGE_PKI_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The site PKI folder (`edge pki init`).",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Bundle folder [provision/NAME]."
)
@click.option("--prefix", default="/opt/edge", show_default=True, help="Where the checkout (.venv) is on the target.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Roster CSV to ship.")
@click.option("--gallery-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Site gallery key.")
@click.option(
    "--store",
    "store_url",
    default=None,
    envvar="EDGE_STORE_URL",
    help="The centre's ONE store (centre roles: written to centre.env; gateway: registered there). Default for a"
    " centre role: sqlite:////var/lib/edge/centre.sqlite.",
)
@click.option(
    "--central",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="central.yaml to ship with a centre role (validated).",
)
@click.option(
    "--broker-dir",
    default=None,
    envvar="EDGE_BROKER_DIR",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The broker folder (`edge broker config --out`): its ACL is rewritten and the broker reloaded now (a"
    " gateway: checked to accept its publish).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be written; write and issue nothing.")
def provision_cmd(
    role: str,
    name: str,
    site: str,
    server: str,
    pki_dir: Path,
    out: Path | None,
    prefix: str,
    roster: Path | None,
    gallery_key: Path | None,
    store_url: str | None,
    central: Path | None,
    broker_dir: Path | None,
    dry_run: bool,
) -> None:
    """Everything machine NAME needs as ROLE in one folder: config, TLS files, systemd unit, install.sh. A gateway
    is also given its rights at the broker (--broker-dir) and registered in the store (--store), at once."""
    from edge.ops.provision import ProvisionError, describe, plan
    from edge.ops.units import Layout, UnitError

    try:
        p = plan(
            role,
            name,
            site=site,
            server=server,
            out=out or Path("provision") / name,
            pki_dir=pki_dir,
            layout=Layout(prefix=Path(prefix)),
            roster=roster,
            gallery_key=gallery_key,
            store_url=store_url if role != "gateway" else None,
            central=central,
            dry_run=dry_run,
        )
    except (ProvisionError, UnitError) as exc:
        click.echo(f"cannot provision {role} {name}: {exc}", err=True)
        sys.exit(1)
    if dry_run:
        for line in describe(p):
            click.echo(f"would write {line}" if not line.startswith("note:") else line)
        return
    for state, path in p.write():
        click.echo(f"{state:9} {path}")
    for note in p.notes:
        click.echo(f"note: {note}")
    if role == "gateway":
        from edge.ops.gateway_registry import RegistryError, register_everywhere
        from edge.security.pki import Pki

        try:
            for line in register_everywhere(Pki(pki_dir), name, broker_dir=broker_dir, store_url=store_url):
                click.echo(line)
        except RegistryError as exc:
            click.echo(f"cannot put {name} in service: {exc}", err=True)
            sys.exit(1)
    elif broker_dir is not None:  # a centre identity: the broker's ACL gains its rights now
        from edge.security.broker_reload import BrokerReloadError, apply

        try:
            click.echo(f"broker: ACL and CRL rewritten in {broker_dir}; {apply(broker_dir)}")
        except BrokerReloadError as exc:
            click.echo(f"the broker was not updated: {exc}", err=True)
            sys.exit(1)
    click.echo(f"next: copy {p.out} to the machine and run `sudo sh install.sh` there (README: Deploy a school)")


def _register() -> None:
    from edge.bench.commands import bench
    from edge.central.bridge import bridge
    from edge.central.collector.commands import dead_letters
    from edge.central.distribution.commands import distribution
    from edge.central.notify.commands import calendar, notify
    from edge.central.parents.commands import privacy
    from edge.central.school.commands import school
    from edge.central.web.commands import server
    from edge.recognition.commands import enroll_cmd, gallery, identify_cmd
    from edge.security.commands import broker_group, command_group, pki_group

    for command in (
        enroll_cmd,
        identify_cmd,
        gallery,
        bench,
        bridge,
        distribution,
        calendar,
        notify,
        pki_group,
        broker_group,
        command_group,
        server,
        school,
        privacy,
    ):
        cli.add_command(command)
    from edge.bench.notify import bench_notify_cmd
    from edge.bench.push import bench_push_cmd
    from edge.bench.security import bench_security_cmd
    from edge.bench.state import bench_state_cmd

    collector.add_command(dead_letters)
    bench.add_command(bench_notify_cmd)
    bench.add_command(bench_push_cmd)
    bench.add_command(bench_security_cmd)
    bench.add_command(bench_state_cmd)


_register()


def main() -> None:
    try:
        cli(prog_name="edge")
    except ModuleNotFoundError as exc:
        # a command of the half this machine does not install (`edge server` on a gateway): say so in words
        from edge.halves import missing_half

        words = missing_half(exc)
        if words is None:
            raise
        click.echo(f"edge: {words}", err=True)
        sys.exit(1)
