"""`edge bridge config` and `edge provision`: the commands of the centre's own modules. Thin: the Mosquitto section
is written by bridge.py; a machine's folder by edge/ops/provision.py, a gateway put in service by gateway_registry.py
(its identity, its rights at the broker and the store's registry: why provisioning is the centre's)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edge.central.bridge import BridgeSettings, bridge_conf
from edge.contract.topics import DEFAULT_PREFIX


@click.group("bridge")
def bridge() -> None:
    """A school's Mosquitto bridged to the district broker."""


@bridge.command("config")
@click.option("--site", required=True, help="This school's site_id.")
@click.option("--district", "district", required=True, help="The district broker, HOST[:PORT] (default port 8883).")
@click.option(
    "--ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The district's CA certificate (TLS)."
)
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The school's bridge certificate (district CA).",
)
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The school's bridge key.")
@click.option("--insecure-plaintext", is_flag=True, help="No TLS (a test bridge on one machine only).")
@click.option("--topic-prefix", default=DEFAULT_PREFIX, show_default=True)
def bridge_config_cmd(
    site: str,
    district: str,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    insecure_plaintext: bool,
    topic_prefix: str,
) -> None:
    """Print the bridge section for the school's mosquitto.conf."""
    host, _, port_text = district.rpartition(":") if ":" in district else (district, "", "8883")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise click.UsageError(f"--district {district!r}: use HOST or HOST:PORT (a port 1-65535)")
    if not insecure_plaintext and (ca is None or cert is None or key is None):
        raise click.UsageError("--ca, --cert and --key are required (or --insecure-plaintext for a test bridge)")
    if cert is not None:
        check_bridge_cert(cert, site)
    try:
        settings = BridgeSettings(site, host, int(port_text), topic_prefix, ca, cert, key)
        click.echo(bridge_conf(settings), nl=False)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def check_bridge_cert(cert: Path, site: str) -> None:
    """Refuse a certificate the district's ACL would not let carry this school: the bridge would connect and
    every publish would be dropped silently, which is the hardest way to find out."""
    from edge.security.pki import PkiError, describe, load_cert

    try:
        name, role, _ = describe(load_cert(cert))
    except PkiError as exc:
        raise click.UsageError(str(exc)) from None
    if role != "bridge" or name != site:
        raise click.UsageError(
            f"{cert} is {role or 'no role'} {name!r}; the district ACL carries school {site!r} only for a bridge "
            f"certificate named {site!r}: 'edge pki issue --dir DISTRICT_PKI {site} --role bridge'"
        )


@click.command("provision")
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
        from edge.central.gateway_registry import RegistryError, register_everywhere
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
