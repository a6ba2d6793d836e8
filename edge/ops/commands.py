"""`edge doctor` (check this gateway, each problem with its fix) and `edge provision` (everything a machine needs
for its role, in one folder). Thin: the work is in doctor.py, provision.py and gateway_registry.py."""

from __future__ import annotations

import sys
from pathlib import Path

import click


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

    from edge.ops.doctor import Limits, exit_code, run_checks

    checks = run_checks(config_path, devices=not no_devices, limits=Limits(timeout_s=timeout), probe=probe)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(c) for c in checks], indent=2))
    else:
        for c in checks:
            click.echo(c.line())
    sys.exit(exit_code(checks, strict))


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
