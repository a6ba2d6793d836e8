"""`edge collector run` (the collector service) and `edge collector dead-letters list|show|replay` (its dead
letters). Thin: the work is in service.py and dead_letters.py (the web app's Gates page calls the same functions)."""

from __future__ import annotations

import getpass
import json
import logging
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from edge.cli_common import echo_issues, stop_on_signals
from edge.logs import setup_logging

log = logging.getLogger(__name__)

STORE = click.option(
    "--store",
    "store_url",
    required=True,
    envvar="EDGE_STORE_URL",
    help="The centre's store (as the collector): sqlite:///PATH or postgresql://…",
)


@click.group()
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
    stop_on_signals(stop)
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
    from edge.config.loader import ConfigError

    try:
        cfg = load_central_config(path, sends=False)  # it queues notices; the notifier sends them (its secrets)
    except ConfigError as exc:
        echo_issues(exc)
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


def _read_gateways(path: Path) -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line}


def _db(store_url: str) -> Any:
    from edge.central.store import open_store
    from edge.central.web.db import WebDb

    open_store(store_url).close()  # pending migrations
    return WebDb(store_url)


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


@collector.group("dead-letters")
def dead_letters() -> None:
    """Check-ins the collector refused (the `rejected` table): list, show, replay."""


@dead_letters.command("list")
@STORE
@click.option("--site", default=None, help="Only this school's.")
@click.option("--pending", is_flag=True, help="Only those whose event is not stored.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="JSON lines.")
def list_cmd(store_url: str, site: str | None, pending: bool, limit: int, as_json: bool) -> None:
    """The newest dead letters first: id, when, gateway, state (pending / stored), reason."""
    from edge.central.collector.dead_letters import list_dead_letters

    db = _db(store_url)
    try:
        rows = list_dead_letters(db, site_id=site, pending_only=pending, limit=limit)
    finally:
        db.close()
    for dl in rows:
        if as_json:
            click.echo(json.dumps(dl.as_dict(), ensure_ascii=False))
        else:
            where = f"{dl.site_id or '?'}/{dl.gateway_id or '?'}"
            state = "pending" if dl.pending else "stored"
            click.echo(f"{dl.id:>6}  {_when(dl.received_at)}  {where:28} {state:8} {dl.reason[:100]}")


@dead_letters.command("show")
@STORE
@click.argument("dead_letter_id", type=int)
def show_cmd(store_url: str, dead_letter_id: int) -> None:
    """One dead letter with its payload."""
    from edge.central.collector.dead_letters import get_dead_letter, show

    db = _db(store_url)
    try:
        dl = get_dead_letter(db, dead_letter_id)
    finally:
        db.close()
    if dl is None:
        click.echo(f"error: no dead letter {dead_letter_id}", err=True)
        sys.exit(2)
    click.echo(show(dl))


@dead_letters.command("replay")
@STORE
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-pending", is_flag=True, help="Every pending dead letter (of --site).")
@click.option("--site", default=None, help="With --all-pending: only this school's.")
@click.option(
    "--notify-config",
    default=None,
    envvar="EDGE_CENTRAL_CONFIG",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="central.yaml: queue the parents' notices of a replayed check-in, as the collector does.",
)
@click.option("--by", default=None, help="Who replays (audit log); default: this login name.")
def replay_cmd(
    store_url: str,
    ids: tuple[int, ...],
    all_pending: bool,
    site: str | None,
    notify_config: Path | None,
    by: str | None,
) -> None:
    """Validate each dead letter again against the current registry of gateways and store its check-in once.
    Exit 1 when one is still refused."""
    from edge.central.collector.dead_letters import list_dead_letters, replay
    from edge.central.store import open_store

    if all_pending == bool(ids):
        raise click.UsageError("give dead letter ids, or --all-pending")
    db = _db(store_url)
    hook, schools = None, None
    if notify_config is not None:
        hook, schools = _notify_hook(notify_config, store_url)  # the same hook as the collector's
    store = open_store(store_url)
    try:
        if all_pending:
            ids = tuple(dl.id for dl in reversed(list_dead_letters(db, site_id=site, pending_only=True, limit=100_000)))
        results = replay(store, db, ids, by=by or f"cli:{getpass.getuser()}", ip="cli", on_stored=hook)
    finally:
        store.close()
        db.close()
        if schools is not None:
            schools.stop()
            schools.db.close()
    for r in results:
        click.echo(f"{r.id:>6}  {r.outcome:14} {r.detail}")
    sys.exit(1 if any(r.outcome in ("refused", "not_found") for r in results) else 0)
