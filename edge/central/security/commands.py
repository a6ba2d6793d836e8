"""CLI: `edge pki …` (the site PKI), `edge broker config` (the closed Mosquitto), `edge command send` (a signed
remote command and its result). Thin: the work is in edge/security (pki.py, broker_config.py) and
edge/contract/signing.py. The centre's, not the shared edge.security's: `edge pki revoke --store` also takes the
gateway out of the centre's registry (edge/central/gateway_registry.py), and no gateway runs these commands."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import click

from edge import jsonstrict
from edge.contract.signing import sign_command
from edge.contract.topics import DEFAULT_PREFIX
from edge.security.broker_config import write_broker_config
from edge.security.pki import ISSUABLE_ROLES, Pki, PkiError, Role, load_private_key

PKI_DIR = click.option(
    "--dir",
    "pki_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The site PKI folder (0700; holds the CA key: keep it off the gateways and the broker).",
)


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


@click.group("pki")
def pki_group() -> None:
    """The site PKI: a CA per school, one certificate per gateway, collector, server and operator."""


@pki_group.command("init")
@PKI_DIR
@click.option("--site", required=True, help="The site (school) id this CA signs for.")
def pki_init(pki_dir: Path, site: str) -> None:
    """Create the site CA (Ed25519; key 0600). Idempotent for the same site."""
    try:
        made = Pki(pki_dir).init(site)
    except PkiError as exc:
        _fail(exc)
        return
    click.echo(f"{'created' if made else 'exists '} site CA for {site} in {pki_dir}")


@pki_group.command("issue")
@PKI_DIR
@click.option("--role", required=True, type=click.Choice(ISSUABLE_ROLES), help="What the identity may do.")
@click.option("--host", "hosts", multiple=True, help="DNS name or IP for a TLS server certificate (repeatable).")
@click.option("--renew", is_flag=True, help="A new key and certificate for an existing identity (rotation).")
@click.argument("name")
def pki_issue(pki_dir: Path, role: Role, hosts: tuple[str, ...], renew: bool, name: str) -> None:
    """Issue NAME (CN = NAME; a gateway's NAME is its gateway_id). Idempotent unless --renew."""
    try:
        ident = Pki(pki_dir).issue(name, role, hosts=hosts, renew=renew)
    except PkiError as exc:
        _fail(exc)
        return
    click.echo(f"{ident.role} {ident.name}: {ident.cert_path} (key {ident.key_path}, until {ident.not_after:%Y-%m-%d})")
    click.echo("then: `edge broker refresh --dir BROKER_DIR` (the ACL gains it; `edge provision` does this itself)")


@pki_group.command("revoke")
@PKI_DIR
@click.option(
    "--broker-dir",
    default=None,
    envvar="EDGE_BROKER_DIR",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The broker folder (`edge broker config --out`): its ACL and CRL are rewritten and the broker reloaded now.",
)
@click.option(
    "--store",
    "store_url",
    default=None,
    envvar="EDGE_STORE_URL",
    help="The centre's store: a revoked gateway leaves its registry (the collector stops accepting it, live).",
)
@click.argument("name")
def pki_revoke(pki_dir: Path, broker_dir: Path | None, store_url: str | None, name: str) -> None:
    """Revoke NAME: it goes into the CRL and out of the ACL (with --broker-dir: at the running broker now) and, for
    a gateway, out of the store's registry of gateways (with --store)."""
    from edge.central.gateway_registry import RegistryError, revoke_everywhere

    try:
        for line in revoke_everywhere(Pki(pki_dir), name, broker_dir=broker_dir, store_url=store_url):
            click.echo(line)
    except (PkiError, RegistryError) as exc:
        _fail(exc)


@pki_group.command("crl")
@PKI_DIR
def pki_crl(pki_dir: Path) -> None:
    """Re-sign the CRL (it is valid a year: an expired CRL makes the broker refuse everyone)."""
    try:
        Pki(pki_dir).refresh_crl()
    except PkiError as exc:
        _fail(exc)
    click.echo(f"CRL re-signed: {Pki(pki_dir).crl_path}")


@pki_group.command("list")
@PKI_DIR
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def pki_list(pki_dir: Path, as_json: bool) -> None:
    """Every identity with its role, expiry and revocation."""
    try:
        idents = Pki(pki_dir).identities()
    except PkiError as exc:
        _fail(exc)
        return
    for i in idents:
        if as_json:
            row = {"name": i.name, "role": i.role, "site": i.site, "serial": f"{i.serial:x}"}
            click.echo(json.dumps({**row, "not_after": i.not_after.isoformat(), "revoked": i.revoked}))
        else:
            state = "REVOKED" if i.revoked else "valid"
            click.echo(f"{i.name:24} {i.role:10} {i.site:16} until {i.not_after:%Y-%m-%d}  {state}")


@click.group("broker")
def broker_group() -> None:
    """The site's Mosquitto."""


@broker_group.command("config")
@click.option("--pki", "pki_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--site", default=None, help="Check that the PKI is this site's.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write.")
@click.option("--host", "hosts", multiple=True, default=("localhost", "127.0.0.1"), show_default=True)
@click.option("--port", default=8883, show_default=True, type=int)
@click.option("--bind", default="", help="Listen address (default: all).")
@click.option("--topic-prefix", default=DEFAULT_PREFIX, show_default=True)
@click.option(
    "--reload-command",
    default="systemctl reload mosquitto",
    show_default=True,
    help="How `edge provision` / `edge pki revoke --broker-dir` / `edge broker refresh` make the broker re-read"
    " its ACL and CRL.",
)
@click.option(
    "--reload-pidfile",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Instead: SIGHUP the process whose PID this file holds (a Mosquitto run with -d and pid_file).",
)
def broker_config(
    pki_dir: Path,
    site: str | None,
    out: Path,
    hosts: tuple[str, ...],
    port: int,
    bind: str,
    topic_prefix: str,
    reload_command: str,
    reload_pidfile: Path | None,
) -> None:
    """Write mosquitto.conf + acl + the broker's certificate, the CA and the CRL into OUT, and how to reload it
    (broker.json). `edge provision gateway --broker-dir OUT` and `edge pki revoke --broker-dir OUT` then rewrite
    the ACL and CRL and reload the broker themselves. Include it from /etc/mosquitto/conf.d/ or run
    `mosquitto -c OUT/mosquitto.conf`; `chown -R mosquitto: OUT` (the key is 0600)."""
    import shlex

    from edge.security.broker_reload import BrokerDeployment, save

    try:
        files = write_broker_config(
            Pki(pki_dir), out, site=site, hosts=hosts, port=port, bind=bind, prefix=topic_prefix
        )
    except PkiError as exc:
        _fail(exc)
        return
    record = save(
        BrokerDeployment(
            out,
            pki_dir.resolve(),
            topic_prefix,
            reload_pidfile,
            tuple(shlex.split(reload_command)),
            hosts[0] if hosts else "localhost",
            port,
        )
    )
    for f in (files.conf, files.acl, files.cert, files.key, files.ca, files.crl, record):
        click.echo(f"wrote {f}")


@broker_group.command("refresh")
@click.option("--dir", "broker_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
def broker_refresh(broker_dir: Path) -> None:
    """Rewrite the ACL and the CRL from the PKI (atomically) and reload the broker, as broker.json says."""
    from edge.security.broker_reload import BrokerReloadError, apply

    try:
        how = apply(broker_dir)
    except BrokerReloadError as exc:
        _fail(exc)
        return
    click.echo(f"ACL and CRL rewritten in {broker_dir}; {how}")


@click.group("command")
def command_group() -> None:
    """Remote commands to gateways, signed."""


@command_group.command("send", context_settings={"ignore_unknown_options": False})
@click.option("--pki", "pki_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--identity", required=True, help="The operator or server identity that signs and sends.")
@click.option("--gateway", required=True, help="Target gateway id.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8883, show_default=True, type=int)
@click.option("--gate", default=None, help="Target gate (lane) id.")
@click.option("--ms", default=None, type=int, help="open_gate: how long, in ms.")
@click.option("--pattern", default=None, help="buzz: short | long | alarm | off.")
@click.option("--timeout", "timeout_s", default=10.0, show_default=True, type=float)
@click.option("--topic-prefix", default=DEFAULT_PREFIX, show_default=True)
@click.argument("name", type=click.Choice(["open_gate", "lock_down", "release", "buzz", "reload_roster"]))
def command_send(
    pki_dir: Path,
    identity: str,
    gateway: str,
    host: str,
    port: int,
    gate: str | None,
    ms: int | None,
    pattern: str | None,
    timeout_s: float,
    topic_prefix: str,
    name: str,
) -> None:
    """Sign NAME with IDENTITY's key, send it to GATEWAY and print its result (exit 1 when not ok)."""
    from edge.transport.subscriber import Subscriber

    pki = Pki(pki_dir)
    try:
        tls = pki.tls_files(identity)
        key = load_private_key(tls.key)
        site = pki.site
    except PkiError as exc:
        _fail(exc)
        return
    request: dict[str, Any] = {"request_id": str(uuid.uuid4())}
    for k, v in (("gate", gate), ("ms", ms), ("pattern", pattern)):
        if v is not None:
            request[k] = v
    body = sign_command(
        site=site, gateway=gateway, command=name, request=request, key=key, cert_pem=tls.cert.read_text()
    )
    base = f"{topic_prefix}/{site}/{gateway}/cmd/{name}"
    try:
        sub = Subscriber(port, f"{base}/result", client_id=f"{identity}-cmd-{uuid.uuid4().hex[:8]}", host=host, tls=tls)
    except (TimeoutError, OSError) as exc:
        _fail(RuntimeError(f"cannot reach the broker at {host}:{port} as {identity}: {exc}"))
        return
    try:
        sub.client.publish(base, json.dumps(body).encode(), qos=1).wait_for_publish(timeout_s)
        done = threading.Event()
        result: dict[str, Any] = {}
        while not done.is_set():
            msg = sub.messages.get(timeout=timeout_s)
            try:
                data = jsonstrict.loads(msg.payload)
            except (ValueError, RecursionError):
                continue  # not a result this command can trust (not JSON, a repeated key): wait for the real one
            if isinstance(data, dict) and data.get("request_id") == request["request_id"]:
                result = data
                done.set()
    except Exception as exc:  # queue.Empty, publish timeout: no answer in time
        _fail(RuntimeError(f"no result from {gateway} within {timeout_s:g}s ({type(exc).__name__})"))
        return
    finally:
        sub.close()
    click.echo(json.dumps(result))
    sys.exit(0 if result.get("ok") else 1)
