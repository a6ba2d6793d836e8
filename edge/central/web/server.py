"""`edge server run`: the web app in one process — uvicorn in a named thread, the live feed ("web-live"), the
gates' MQTT link, the enrolment link (the centre's galleries, each change published), the schools' watcher
("web-schools": the store's state followed live) and the distributor ("distributor": every roster or gallery
change built, signed and published to the gateways by itself), started in one order and stopped in the reverse,
with sd_notify READY/WATCHDOG/STOPPING (edge.ops.supervision) like the gateway and the collector."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from edge.central.distribution.distributor import Distributor, Target
from edge.central.store import open_store
from edge.central.web.app import create_app
from edge.central.web.context import WebContext, WebSettings
from edge.central.web.db import WebDb
from edge.central.web.enrolment import EnrolmentLink, PublishTarget
from edge.central.web.gates import GateMonitor
from edge.central.web.live import LiveHub
from edge.config.central import load_central_config
from edge.contract.topics import DEFAULT_PREFIX
from edge.ops.heartbeat import Heartbeats
from edge.ops.server_metrics import serve_registry
from edge.ops.supervision import Supervision
from edge.ops.web_metrics import WebMetrics
from edge.recognition.backend import DEFAULT_MODEL
from edge.security.pki import TlsFiles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerOptions:
    config: Path
    store_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    pki_dir: Path | None = None
    identity: str | None = None
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 8883
    topic_prefix: str = DEFAULT_PREFIX
    insecure_cookies: bool = False
    centre_dir: Path | None = None
    """The centre's distribution folder (`edge distribution --centre`): the Student page enrols faces into it."""
    centre_key_file: Path | None = None
    centre_model: str = DEFAULT_MODEL
    metrics: str = "127.0.0.1:9111"
    """Prometheus endpoint (edge_web_*, edge/ops/web_metrics.py) as HOST:PORT, or 'off'."""
    forwarded_allow_ips: str | None = None
    """The reverse proxy's address(es) (uvicorn's forwarded_allow_ips): X-Forwarded-For/-Proto from there give the
    client's real address (rate limits, audit rows). None: the socket's peer, for a server without a proxy."""
    tls_files: tuple[Path, Path, Path] | None = None
    """(ca, cert, key) of this server's own identity, instead of --pki/--identity: what a provisioned web unit uses
    (the PKI folder holds the CA key, which stays off the web server); the identity and site from the certificate."""


def build_context(opts: ServerOptions) -> WebContext:
    cfg = load_central_config(opts.config, sends=False)  # it sends no notice: no channel secret here
    store = open_store(opts.store_url)
    ctx = WebContext(cfg, store, WebDb(opts.store_url), settings=WebSettings(cookie_secure=not opts.insecure_cookies))
    ctx.live = LiveHub(ctx)
    ident = server_identity(opts)
    if ident is not None:
        name, site, tls = ident
        monitor = GateMonitor(opts.mqtt_host, opts.mqtt_port, name, tls, site_id=site, prefix=opts.topic_prefix)
        ctx.gates = monitor
        ctx.commands = monitor
    ctx.enrolment = enrolment_link(opts, ctx.gates.client if isinstance(ctx.gates, GateMonitor) else None)
    return ctx


def server_identity(opts: ServerOptions) -> tuple[str, str, TlsFiles] | None:
    """(identity name, site, TLS files) of this server, from --pki/--identity or --ca/--cert/--key; None: none."""
    from edge.security.pki import Pki, describe, load_cert

    if opts.pki_dir is not None and opts.identity is not None:
        pki = Pki(opts.pki_dir)
        return opts.identity, pki.site, pki.tls_files(opts.identity)
    if opts.tls_files is not None:
        ca, cert, key = opts.tls_files
        name, _role, site = describe(load_cert(cert))
        return name, site, TlsFiles(ca, cert, key)
    return None


def distributor(opts: ServerOptions, ctx: WebContext) -> Distributor | None:
    """The distributor when the server can sign (--pki/--identity) and has the centre's folder (--centre); None
    (with a warning saying what is missing) otherwise."""
    ident = server_identity(opts)
    if ident is None or opts.centre_dir is None:
        log.warning(
            "distributor off: rosters are not published to the gateways automatically "
            "(give --pki and --identity, or --ca/--cert/--key, and --centre)"
        )
        return None
    from edge.central.distribution.centre import CentreStore
    from edge.security.sealed import read_key_file

    name, _site, tls = ident
    connection = ctx.gates.client if isinstance(ctx.gates, GateMonitor) else None
    target = Target(opts.mqtt_host, opts.mqtt_port, tls, name, opts.topic_prefix, connection=connection)
    key = read_key_file(opts.centre_key_file) if opts.centre_key_file is not None else b""
    centre = ctx.enrolment.store if ctx.enrolment is not None else CentreStore(opts.centre_dir, key)
    lock = ctx.enrolment.lock if ctx.enrolment is not None else None
    return Distributor(ctx.directories, centre, target, model=opts.centre_model, lock=lock)


def enrolment_link(opts: ServerOptions, connection: Any = None) -> EnrolmentLink | None:
    """The centre's galleries under their key, and — with --pki/--identity — the same server identity signing
    each new gallery version (as the gates link signs commands). None without --centre."""
    if opts.centre_dir is None or opts.centre_key_file is None:
        return None
    from edge.central.distribution.centre import CentreStore
    from edge.security.sealed import read_key_file

    target = None
    ident = server_identity(opts)
    if ident is not None:
        target = PublishTarget(
            opts.mqtt_host, opts.mqtt_port, ident[2], ident[0], opts.topic_prefix, connection=connection
        )
    store = CentreStore(opts.centre_dir, read_key_file(opts.centre_key_file))
    return EnrolmentLink(store, model=opts.centre_model, publish=target)


def gateways_online(ctx: WebContext) -> tuple[int, int]:
    """(online, known) over every school the app serves, from the gates link (0, 0 without one)."""
    if ctx.gates is None:
        return 0, 0
    rows = [g for school in ctx.schools for g in ctx.gates.gateways(school.id)]
    return sum(1 for g in rows if g.get("online")), len(rows)


def uvicorn_config(app: Any, opts: ServerOptions) -> uvicorn.Config:
    """Proxy headers are trusted only from --forwarded-allow-ips: from anyone else they would let a client pick
    its own address (and slip past the login limiter)."""
    return uvicorn.Config(
        app,
        host=opts.host,
        port=opts.port,
        log_level="info",
        timeout_graceful_shutdown=5,
        proxy_headers=opts.forwarded_allow_ips is not None,
        forwarded_allow_ips=opts.forwarded_allow_ips,
    )


def run(opts: ServerOptions) -> None:
    ctx = build_context(opts)
    heartbeats = Heartbeats(Supervision.heartbeat_max_age_s())
    sup = Supervision.from_env(heartbeats, lambda: f"serving on {opts.host}:{opts.port}")
    assert ctx.live is not None
    ctx.live.heartbeat = heartbeats.register("web-live")
    metrics = WebMetrics()
    metrics.watch(lambda: ctx.live.viewers if ctx.live is not None else 0, lambda: gateways_online(ctx))
    app = metrics.middleware(create_app(ctx))
    server = uvicorn.Server(uvicorn_config(app, opts))
    # uvicorn installs no signal handlers outside the main thread; ours (below) stop everything in order
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    metrics_server = serve_registry(metrics.registry, opts.metrics, "web app")
    ctx.directories.start(name="web-schools")
    ctx.live.start()
    if ctx.gates is not None and not ctx.gates.start():
        log.warning("gates: not subscribed to the broker yet (it keeps trying)")
    dist = distributor(opts, ctx)  # after the gates link: it publishes over that connection
    if dist is not None:
        dist.start()
    web = threading.Thread(target=server.run, name="web-uvicorn", daemon=True)
    web.start()
    while not server.started and web.is_alive() and not stop.wait(0.1):
        pass
    if server.started:
        sup.ready(f"serving on http://{opts.host}:{opts.port}")
        log.info("web app on http://%s:%d", opts.host, opts.port)
    while web.is_alive() and not stop.wait(1.0):
        pass
    sup.stopping()
    ctx.live.close_clients()  # end live streams first: uvicorn waits for open responses
    server.should_exit = True
    web.join(10)
    if dist is not None:
        dist.stop()
    if metrics_server is not None:
        metrics_server.stop()
    ctx.close()
    ctx.store.close()
