"""`edge bridge config`: the commands of the centre's own modules (bridge.py). Thin: the Mosquitto section is
written by bridge.py."""

from __future__ import annotations

from pathlib import Path

import click

from edge.central.bridge import BridgeSettings, bridge_conf
from edge.topics import DEFAULT_PREFIX


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
